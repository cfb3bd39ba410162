package traffic

// Thresholds. This is the one place that decides when a number is alarming: the dashboard
// colours by them and every table marks the rows above them. The error ratio (1 − success)
// follows Kiali's HTTP health defaults (≥ 0.1% degraded, ≥ 10% failure); the p99 bounds follow
// Flagger's default request-duration check (500 ms). They apply only to rows whose request rate
// is at least the minimum rate (top's --min-rps): one failure out of three requests is noise,
// not an incident.
const (
	ErrorRatioBad  = 0.10   // error ratio at or above this is bad (red)
	ErrorRatioWarn = 0.001  // error ratio above this is a warning (yellow)
	P99BadMs       = 1000.0 // p99 above this (ms) is bad
	P99WarnMs      = 500.0  // p99 above this (ms) is a warning

	// ratioEpsilon absorbs float noise: a success of 0.999 is an error ratio of exactly 0.1%.
	ratioEpsilon = 1e-9
)

// Level is how alarming a number is.
type Level int

// The levels, from fine to bad.
const (
	LevelOK Level = iota
	LevelWarn
	LevelBad
)

// SuccessLevel grades a success ratio (0..1); an unknown one is never alarming.
func SuccessLevel(success float64) Level {
	if !Known(success) {
		return LevelOK
	}
	errRatio := 1 - success
	switch {
	case errRatio >= ErrorRatioBad-ratioEpsilon:
		return LevelBad
	case errRatio > ErrorRatioWarn+ratioEpsilon:
		return LevelWarn
	}
	return LevelOK
}

// LatencyLevel grades a p99 in milliseconds; an unknown one is never alarming.
func LatencyLevel(ms float64) Level {
	switch {
	case !Known(ms):
		return LevelOK
	case ms > P99BadMs:
		return LevelBad
	case ms > P99WarnMs:
		return LevelWarn
	}
	return LevelOK
}

// Marker is what a table prints before a row above the bad thresholds, so the row stands out
// without colour (NO_COLOR, a pipe, a screen reader).
const Marker = "!"

// AboveThresholds reports whether a row or listener with rps requests per second, at least
// minRPS, has its success ratio or its p99 at the bad level. Slower ones are never marked.
func AboveThresholds(rps, success, p99Ms, minRPS float64) bool {
	if !Known(rps) || rps < minRPS {
		return false
	}
	return SuccessLevel(success) == LevelBad || LatencyLevel(p99Ms) == LevelBad
}

// markOf is the marker column of a table: Marker and a space, or two spaces.
func markOf(above bool) string {
	if above {
		return Marker + " "
	}
	return "  "
}
