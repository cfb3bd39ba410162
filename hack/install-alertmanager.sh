#!/usr/bin/env bash
# Installs alertmanager into $PROMTEAM_BIN for the alerting end-to-end tests.
#
# Debian's prometheus-alertmanager package installs in seconds: it is downloaded (not installed,
# so no root and no service start) and unpacked. Where apt is missing, it is built from the Go
# module proxy instead (about 3 minutes). The tests read the version from the binary and give the
# operator's Alertmanager resources that version, so the configuration the operator generates is
# one this binary reads.
source "$(dirname "$0")/lib.sh"

ALERTMANAGER_MODULE_VERSION=${ALERTMANAGER_MODULE_VERSION:-v0.35.0}
stamp="$PROMTEAM_BIN/.alertmanager.stamp"

if [[ -x "$PROMTEAM_BIN/alertmanager" && -f "$stamp" ]]; then
	log "alertmanager is installed in $PROMTEAM_BIN ($(cat "$stamp"))"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

from_debian() {
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
	log "downloading Debian's prometheus-alertmanager package"
	if ! (cd "$tmp" && apt-get download prometheus-alertmanager >/dev/null 2>&1); then
		# A fresh machine may have no package lists yet; reading them needs root.
		if [[ $(id -u) == 0 ]]; then
			apt-get update -qq >/dev/null 2>&1 || return 1
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo apt-get update -qq >/dev/null 2>&1 || return 1
		else
			return 1
		fi
		(cd "$tmp" && apt-get download prometheus-alertmanager >/dev/null 2>&1) || return 1
	fi
	local deb
	deb=$(ls "$tmp"/prometheus-alertmanager_*.deb) || return 1
	dpkg-deb -x "$deb" "$tmp/root" || return 1
	install -m 0755 "$tmp/root/usr/bin/prometheus-alertmanager" "$PROMTEAM_BIN/alertmanager" || return 1
	basename "$deb" .deb >"$stamp"
}

from_source() {
	log "building alertmanager $ALERTMANAGER_MODULE_VERSION from the Go module proxy (about 3 minutes)"
	local v=${ALERTMANAGER_MODULE_VERSION#v}
	GOBIN="$tmp" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install \
		-ldflags "-s -w -X github.com/prometheus/common/version.Version=$v" \
		"github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_MODULE_VERSION" || return 1
	install -m 0755 "$tmp/alertmanager" "$PROMTEAM_BIN/alertmanager" || return 1
	echo "alertmanager $ALERTMANAGER_MODULE_VERSION (built)" >"$stamp"
}

if ! from_debian; then
	log "Debian's package is not available here"
	from_source
fi
log "installed $("$PROMTEAM_BIN/alertmanager" --version 2>&1 | head -1)"
