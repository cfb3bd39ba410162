//go:build tools

// Package tools pins the etcd server that hack/install-k8s.sh builds for the tests.
package tools

import _ "go.etcd.io/etcd/server/v3"
