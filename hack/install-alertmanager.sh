#!/usr/bin/env bash
# Builds alertmanager from the Go module proxy into $PROMTEAM_BIN for the alerting tests.
#
# v0.28.1 is the newest release whose module builds with `go install`: later modules leave out the
# web UI that the binary embeds. Debian's package is not used because its binary reads its message
# templates from /usr/share, which only root can provide. The tests read the version from the
# binary and give the operator's Alertmanager resources that version, so the configuration the
# operator generates is one this binary reads.
source "$(dirname "$0")/lib.sh"

stamp="$PROMTEAM_BIN/.alertmanager.stamp"
want="alertmanager $ALERTMANAGER_VERSION"

if [[ -x "$PROMTEAM_BIN/alertmanager" && -f "$stamp" && $(cat "$stamp") == "$want" ]]; then
	log "$want is installed in $PROMTEAM_BIN"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "building $want from the Go module proxy (under a minute)"
GOBIN="$tmp" GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 go install \
	-ldflags "-s -w -X github.com/prometheus/common/version.Version=${ALERTMANAGER_VERSION#v}" \
	"github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_VERSION"
install -m 0755 "$tmp/alertmanager" "$PROMTEAM_BIN/alertmanager"
echo "$want" >"$stamp"
log "installed $("$PROMTEAM_BIN/alertmanager" --version 2>&1 | head -1)"
