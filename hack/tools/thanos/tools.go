//go:build tools

// Package tools pins what hack/install-thanos.sh and hack/install-prometheus3.sh build for the
// end-to-end tests: Thanos (the sidecar next to each Prometheus, Thanos Query and Receive) and the
// Prometheus 3 that Thanos' own module graph requires, so the sidecars run next to the Prometheus
// release their Thanos was built against.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/thanos-io/thanos/cmd/thanos"
)
