//go:build tools

// Package tools pins the Prometheus Operator that hack/install-operator.sh builds for the
// operator end-to-end test.
package tools

import _ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
