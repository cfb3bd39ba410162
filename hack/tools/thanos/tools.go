//go:build tools

// Package tools pins what hack/install-thanos.sh and hack/install-prometheus3.sh build for the
// end-to-end tests: Thanos (the sidecar next to each Prometheus, Thanos Query and Receive) and the
// Prometheus 3 that Thanos' own module graph requires, so that the two builds share every
// package they have in common.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/thanos-io/thanos/cmd/thanos"
)
