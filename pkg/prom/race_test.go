//go:build race

package prom

// raceEnabled: the race detector's shadow memory and instrumentation make allocation counts
// meaningless, so tests measure allocations only without it.
const raceEnabled = true
