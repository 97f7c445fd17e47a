//go:build !race

package reports

// raceEnabled is true when the tests run with the race detector, which
// makes them many times slower.
const raceEnabled = false
