#!/usr/bin/env bash
# Installs the pinned golangci-lint into $PROMTEAM_BIN, built from the Go module proxy.
source "$(dirname "$0")/lib.sh"

bin="$PROMTEAM_BIN/golangci-lint"
if [[ -x "$bin" ]] && "$bin" version 2>/dev/null | grep -q "version ${GOLANGCI_LINT_VERSION#v} "; then
	log "golangci-lint $GOLANGCI_LINT_VERSION is installed in $PROMTEAM_BIN"
	exit 0
fi
log "building golangci-lint $GOLANGCI_LINT_VERSION (a few minutes the first time)"
GOBIN="$PROMTEAM_BIN" GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 \
	go install -ldflags "-s -w -X main.version=${GOLANGCI_LINT_VERSION#v}" \
	"github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
"$bin" version
