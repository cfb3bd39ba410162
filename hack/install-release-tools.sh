#!/usr/bin/env bash
# Installs the pinned release tools into $PROMTEAM_BIN, built from the Go module proxy:
# goreleaser, and krew with its validate-krew-manifest.
source "$(dirname "$0")/lib.sh"

GORELEASER_VERSION=${GORELEASER_VERSION:-v2.15.1}
KREW_VERSION=${KREW_VERSION:-v0.4.3}

install() { # install NAME STAMP PACKAGE@VERSION...
	local name=$1 want=$2
	shift 2
	local stamp="$PROMTEAM_BIN/.$name.stamp"
	if [[ -x "$PROMTEAM_BIN/$name" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		log "$name $want is installed in $PROMTEAM_BIN"
		return 0
	fi
	log "building $name $want (a few minutes the first time)"
	# Without symbol tables and DWARF (-s -w) the link steps take less time and memory. Every tool
	# and the project itself compile with the same flags (CGO_ENABLED=0, -trimpath), so the
	# standard library and the modules they share at one version compile once.
	GOBIN="$PROMTEAM_BIN" GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 go install -ldflags "-s -w" "$@"
	echo "$want" >"$stamp"
}

install goreleaser "$GORELEASER_VERSION" "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
install krew "$KREW_VERSION" "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION"
# kubectl finds krew as its plugin kubectl-krew.
ln -sf krew "$PROMTEAM_BIN/kubectl-krew"
