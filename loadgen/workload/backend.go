package workload

import "fmt"

// Backend is a server a lab runs: a simulated one in the simulator.
type Backend struct {
	// Address is the server's host:port, as a group's server lists it.
	// Required.
	Address string `yaml:"address"`
	// Service is the service-time law. Default constant 10ms.
	Service Law `yaml:"service"`
	// Concurrency is how many requests it serves at once; 0 is no limit.
	// Default 0.
	Concurrency int `yaml:"concurrency"`
	// Queue is how many requests wait when it is busy; more get 503.
	// Default 1000.
	Queue *int `yaml:"queue"`
	// Errors inject statuses: each request gets Status with Probability.
	Errors []ErrorRule `yaml:"errors"`
	// HealthPath is the path its health endpoint answers 200 on; any other
	// path of a health probe gets 404. Default / (every path is fine).
	HealthPath string `yaml:"health_path"`
}

// ErrorRule injects a status with a probability.
type ErrorRule struct {
	// Status is the HTTP status returned. Required.
	Status int `yaml:"status"`
	// Probability is 0..1. Required.
	Probability float64 `yaml:"probability"`
}

// Check returns what is wrong with the spec, or nil.
func (s Backend) Check() error {
	if err := s.Service.Check(); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if s.Concurrency < 0 || (s.Queue != nil && *s.Queue < 0) {
		return fmt.Errorf("concurrency and queue must not be negative")
	}
	for _, e := range s.Errors {
		if e.Status < 100 || e.Status > 599 || e.Probability < 0 || e.Probability > 1 {
			return fmt.Errorf("errors: want a status 100..599 and a probability 0..1, got %d and %v", e.Status, e.Probability)
		}
	}
	return nil
}
