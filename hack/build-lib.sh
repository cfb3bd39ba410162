#!/usr/bin/env bash
# Helpers for the hack/ scripts that build test binaries from wrapper modules under hack/tools/.
# Source it after lib.sh; do not run it.

# The wrappers are complete modules; do not let a go.work or a stray GOFLAGS change how they build.
# CGO_ENABLED=0 and -trimpath are the flags the project's own builds use (Makefile), so a package
# both compile at one version is compiled once.
export GOWORK=off
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export CGO_ENABLED=0

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# Binaries are built into a scratch directory next to their destination and moved into place only
# when the build succeeded, so an interrupted build never leaves a partial binary behind.
BUILD_TMP=
trap 'if [[ -n "$BUILD_TMP" ]]; then rm -rf "$BUILD_TMP"; fi' EXIT
new_build_dir() { BUILD_TMP=$(mktemp -d "$PROMTEAM_BIN/.build.XXXXXX"); }

# required_version DIR MODULE prints the version of MODULE that DIR/go.mod requires.
required_version() {
	(cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# up_to_date STAMP CONTENT BINARY... succeeds when every binary exists and STAMP holds CONTENT.
up_to_date() {
	local stamp=$1 content=$2 bin
	shift 2
	for bin in "$@"; do
		[[ -x "$PROMTEAM_BIN/$bin" ]] || return 1
	done
	[[ -f "$stamp" && "$(cat "$stamp")" == "$content" ]]
}

# install_built BINARY... moves freshly built binaries from the scratch directory into place.
install_built() {
	local bin
	for bin in "$@"; do
		mv -f "$BUILD_TMP/$bin" "$PROMTEAM_BIN/$bin"
	done
	rm -rf "$BUILD_TMP"
	BUILD_TMP=
}
