#!/usr/bin/env bash
# Installs prometheus and promtool into $PROMTEAM_BIN for the tests.
#
# Debian's prometheus package installs in seconds: it is downloaded (not installed, so no root
# and no service start) and unpacked. Where apt is missing, both are built from the Go module
# proxy instead (about 10 minutes and 3 GB of memory).
source "$(dirname "$0")/lib.sh"

PROMETHEUS_MODULE_VERSION=${PROMETHEUS_MODULE_VERSION:-v0.316.0}
stamp="$PROMTEAM_BIN/.prometheus.stamp"

if [[ -x "$PROMTEAM_BIN/promtool" && -x "$PROMTEAM_BIN/prometheus" && -f "$stamp" ]]; then
	log "prometheus and promtool are installed in $PROMTEAM_BIN ($(cat "$stamp"))"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

from_debian() {
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
	log "downloading Debian's prometheus package"
	if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
		# A fresh machine may have no package lists yet; reading them needs root.
		if [[ $(id -u) == 0 ]]; then
			apt-get update -qq >/dev/null 2>&1 || return 1
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo apt-get update -qq >/dev/null 2>&1 || return 1
		else
			return 1
		fi
		(cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) || return 1
	fi
	local deb
	deb=$(ls "$tmp"/prometheus_*.deb) || return 1
	dpkg-deb -x "$deb" "$tmp/root" || return 1
	install -m 0755 "$tmp/root/usr/bin/prometheus" "$tmp/root/usr/bin/promtool" "$PROMTEAM_BIN/" || return 1
	basename "$deb" .deb >"$stamp"
}

from_source() {
	log "building prometheus and promtool $PROMETHEUS_MODULE_VERSION from the Go module proxy (about 10 minutes)"
	GOBIN="$PROMTEAM_BIN" GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 go install \
		"github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION" \
		"github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" || return 1
	echo "prometheus $PROMETHEUS_MODULE_VERSION (built)" >"$stamp"
}

if ! from_debian; then
	log "Debian's package is not available here"
	from_source
fi
log "installed $("$PROMTEAM_BIN/promtool" --version 2>&1 | head -1)"
