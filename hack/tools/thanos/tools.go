//go:build tools

// Package tools pins the Thanos that hack/install-thanos.sh builds for the Thanos end-to-end
// tests: the sidecar next to each Prometheus and Thanos Query.
package tools

import _ "github.com/thanos-io/thanos/cmd/thanos"
