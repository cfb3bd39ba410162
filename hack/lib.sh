#!/usr/bin/env bash
# Shared settings for the hack/ scripts: where tools are cached and pinned versions.
# Source it; do not run it.

set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything the tests need is installed or built under this directory, so a second run is fast.
PROMTEAM_CACHE=${PROMTEAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-promteam}
PROMTEAM_BIN=${PROMTEAM_BIN:-$PROMTEAM_CACHE/bin}
mkdir -p "$PROMTEAM_BIN"

KUBERNETES_VERSION=${KUBERNETES_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
GOLANGCI_LINT_VERSION=${GOLANGCI_LINT_VERSION:-v2.15.0}
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.94.1}
ALERTMANAGER_VERSION=${ALERTMANAGER_VERSION:-v0.28.1}
THANOS_VERSION=${THANOS_VERSION:-v0.41.0}

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
