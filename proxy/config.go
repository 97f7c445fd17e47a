// Package proxy holds the load balancer: its configuration model (shared by
// lab files and the nginx importer), and, in sub-packages, its decision
// cores (balance, health, attempt) that the simulator and the real server
// both call.
package proxy

import "github.com/lblab/lblab/units"

// Config is a load balancer: listeners that route requests to groups of
// servers. It is a lab file's `lb` section, and what an nginx
// configuration imports to.
type Config struct {
	// Listeners accept client traffic. At least one.
	Listeners []Listener `yaml:"listeners"`
	// Groups are the server groups (nginx's upstream blocks). At least one.
	Groups []Group `yaml:"groups"`
	// Discovery, when "docker", adds servers from the labels of running
	// containers (lblab.lb.port_<port>: <scheme>://<lb name>:<front
	// port>, see proxy/discovery): the real proxy watches the Docker
	// Engine API, the simulator a lab's services. A group may then list no
	// server. Default "": only the configured servers.
	Discovery string `yaml:"discovery"`
}

// DiscoveryDocker is Config.Discovery for container-label registration.
const DiscoveryDocker = "docker"

// Protocols a listener can speak.
const (
	ProtoHTTP  = "http"
	ProtoHTTPS = "https"
	ProtoTCP   = "tcp"
	ProtoUDP   = "udp"
)

// Listener accepts client traffic on a port and routes it to a group.
type Listener struct {
	// Name identifies the listener in histories and reports. Default
	// PROTOCOL:PORT, or PROTOCOL:ADDRESS:PORT when Address is set
	// (http:127.0.0.1:80, http:[::1]:80).
	Name string `yaml:"name"`
	// Protocol is http, https, tcp or udp. Default http.
	Protocol string `yaml:"protocol"`
	// Address is the IP address the real proxy listens on: an IPv4
	// address (0.0.0.0 for every IPv4 address) or an IPv6 one (:: for
	// every IPv6 address, IPv6 only, as nginx's [::]). Default: the
	// proxy's --bind address, loopback (127.0.0.1) unless given. An
	// imported nginx configuration always sets it (0.0.0.0 for a bare
	// port, as nginx). The simulator ignores it.
	Address string `yaml:"address"`
	// Port is the port to listen on, 1..65535. Required.
	Port int `yaml:"port"`
	// Group is the group that gets requests no rule matches. Required.
	Group string `yaml:"group"`
	// Rules route by host name and path prefix (http and https only); the
	// first match wins.
	Rules []Rule `yaml:"rules"`
}

// Rule routes matching requests to a group.
type Rule struct {
	// Host matches the request's host name exactly (case-insensitive), or
	// any host when empty.
	Host string `yaml:"host"`
	// PathPrefix matches paths that start with it, or any path when empty.
	PathPrefix string `yaml:"path_prefix"`
	// Group is where matching requests go. Required.
	Group string `yaml:"group"`
}

// What a group does when no server can be picked.
const (
	// NoServer502 answers 502 Bad Gateway, as nginx does. The default.
	NoServer502 = "502"
	// NoServer503 answers 503 Service Unavailable, as HAProxy does.
	NoServer503 = "503"
	// NoServerFailOpen ignores health and routes to every server by the
	// algorithm, as a cloud application load balancer does when all
	// servers are unhealthy.
	NoServerFailOpen = "fail-open"
)

// Group is a group of servers and how requests are spread over them.
type Group struct {
	// Name identifies the group. Required.
	Name string `yaml:"name"`
	// Algorithm picks a server: round_robin (smooth weighted, the
	// default), least_conn, ip_hash, hash, hash_consistent, random,
	// random_two, random_two_least_conn, least_time, sch (source-IP
	// consistent hash).
	Algorithm string `yaml:"algorithm"`
	// HashKey is what hash and hash_consistent hash, in nginx's variables:
	// $request_uri, $remote_addr, $http_x_forwarded_for, $cookie_NAME,
	// $arg_NAME. Required for those algorithms, refused by the others.
	HashKey string `yaml:"hash_key"`
	// Servers are the group's servers. At least one.
	Servers []Server `yaml:"servers"`
	// HealthCheck configures active health checks. Default none: only
	// passive accounting (max_fails, fail_timeout).
	HealthCheck *HealthCheck `yaml:"health_check"`
	// Persistence keeps a client on the server it first got. Default none.
	Persistence *Persistence `yaml:"persistence"`
	// NextUpstream says when a failed try moves to the next server (nginx's
	// proxy_next_upstream). Default: on error and timeout, no limit on
	// tries or time.
	NextUpstream *NextUpstream `yaml:"next_upstream"`
	// NoServer is what happens when no server can be picked: "502"
	// (default), "503" or "fail-open".
	NoServer string `yaml:"no_server"`
	// ConnectTimeout is nginx's proxy_connect_timeout. Default 60s.
	ConnectTimeout units.Duration `yaml:"connect_timeout"`
	// ReadTimeout is nginx's proxy_read_timeout: how long to wait for the
	// server's response. Default 60s.
	ReadTimeout units.Duration `yaml:"read_timeout"`
	// Deregister, with Discovery on, is the container event that removes
	// a server registered by its labels: "die" (default: the container's
	// die or stop event, at once) or "destroy" (only when the container is
	// removed: a dead container stays a server until the health checks
	// take it out).
	Deregister string `yaml:"deregister"`
}

// Server is one server of a group.
type Server struct {
	// Address is host:port, printed back as written. Required.
	Address string `yaml:"address"`
	// Weight is 0..100 in cloud terms (0: no new traffic); nginx allows
	// 1 and up. Default 1.
	Weight *int `yaml:"weight"`
	// Backup servers get traffic only when no other server can be picked.
	// Default false.
	Backup bool `yaml:"backup"`
	// Down servers never get traffic. Default false.
	Down bool `yaml:"down"`
	// MaxFails is how many failed tries within FailTimeout make the server
	// unavailable for FailTimeout; 0 turns the accounting off. Default 1.
	MaxFails *int `yaml:"max_fails"`
	// FailTimeout is nginx's fail_timeout. Default 10s.
	FailTimeout units.Duration `yaml:"fail_timeout"`
	// MaxConns limits concurrent connections to the server; 0 is no limit.
	// Default 0.
	MaxConns int `yaml:"max_conns"`
	// Backend, in a lab, is "none" for a server that has no simulated
	// backend on purpose: nothing listens at its address, so every try of
	// it is refused (a dead server from the start). Default "": the lab
	// must have a backend of the same address (a server without one is
	// refused as a likely typo; backend: none beside a backend of the
	// address is refused as a contradiction). The real proxy ignores it.
	Backend string `yaml:"backend"`
	// Source is where the server came from: "" (the configuration) or
	// docker:NAME/ID for one registered by a container's labels. Not read
	// from a file.
	Source string `yaml:"-"`
}

// NoBackend is Server.Backend for a server without a simulated backend.
const NoBackend = "none"

// WeightOr returns the weight, or 1 when it was not written.
func (s Server) WeightOr() int {
	if s.Weight == nil {
		return 1
	}
	return *s.Weight
}

// MaxFailsOr returns max_fails, or 1 when it was not written.
func (s Server) MaxFailsOr() int {
	if s.MaxFails == nil {
		return 1
	}
	return *s.MaxFails
}

// HealthCheck configures active health checks, with a cloud load
// balancer's defaults.
type HealthCheck struct {
	// Type is tcp (a connect succeeds) or http (a request gets an expected
	// status). Default http.
	Type string `yaml:"type"`
	// Path is the HTTP path checked (http only, as Method and
	// ExpectedCodes: a tcp check refuses them). Default /.
	Path string `yaml:"path"`
	// Method is GET or HEAD. Default HEAD.
	Method string `yaml:"method"`
	// ExpectedCodes are the healthy statuses in the cloud form
	// "http_2xx,http_3xx" (classes http_2xx … http_5xx). Default http_2xx.
	ExpectedCodes string `yaml:"expected_codes"`
	// Interval is the time between checks of one server, more than 0.
	// Default 2s.
	Interval units.Duration `yaml:"interval"`
	// Timeout is how long a check may take, more than 0. Default 5s.
	Timeout units.Duration `yaml:"timeout"`
	// HealthyThreshold is how many passes in a row bring a server up
	// (nginx's rise). Default 3.
	HealthyThreshold int `yaml:"healthy_threshold"`
	// UnhealthyThreshold is how many failures in a row take it down
	// (nginx's fall). Default 3.
	UnhealthyThreshold int `yaml:"unhealthy_threshold"`
	// Port checks another port than the server's, 1..65535. Default the
	// server's (0 is refused in a lab or an lb file).
	Port int `yaml:"port"`
}

// Persistence keeps clients on a server.
type Persistence struct {
	// Mode is none, source_ip or cookie (an inserted cookie). Default none.
	Mode string `yaml:"mode"`
	// Cookie is the inserted cookie's name (mode cookie only). Default
	// SERVERID.
	Cookie string `yaml:"cookie"`
	// Lifetime is the cookie's (or source entry's) lifetime; mode none
	// refuses it. Default 1h.
	Lifetime units.Duration `yaml:"lifetime"`
}

// NextUpstream is nginx's proxy_next_upstream with its _tries and
// _timeout.
type NextUpstream struct {
	// On lists the conditions that pass a request to the next server:
	// error, timeout, invalid_header, http_500, http_502, http_503,
	// http_504, http_403, http_404, http_429, non_idempotent; or off.
	// Default [error, timeout].
	On []string `yaml:"on"`
	// Tries limits the tries of one request, 0 for no limit. Default 0.
	Tries int `yaml:"tries"`
	// Timeout limits the time spent passing a request on, 0 for no limit.
	// Default 0.
	Timeout units.Duration `yaml:"timeout"`
}
