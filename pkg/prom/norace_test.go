//go:build !race

package prom

// raceEnabled: see race_test.go.
const raceEnabled = false
