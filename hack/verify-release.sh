#!/usr/bin/env bash
# Builds a snapshot release, renders the krew manifest for its archives, validates it (krew's
# validator installs every platform of the manifest from a local server), installs the host's
# archive with krew into a temporary KREW_ROOT and runs the plugin through kubectl's own plugin
# discovery.
#
# Platforms: on a v*.*.* tag, or with RELEASE_ALL=1, all six (linux, darwin and windows on amd64
# and arm64), as the release builds them. Otherwise the host platform only, with the goreleaser
# configuration's goos/goarch lists replaced by that target and a manifest listing it; the other
# five are type-checked from source (hack/tools/typecheck), which finds what would not compile off
# the host's platform in about 15 core-seconds a platform, where cross-compiling windows/amd64
# alone took about 500.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
export PATH="$PROMTEAM_BIN:$PATH"

all=(linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64)
host="$(go env GOOS)_$(go env GOARCH)"
goreleaser check
config=.goreleaser.yaml
if [[ "${RELEASE_ALL:-}" == 1 ]] || git describe --exact-match --tags --match 'v*.*.*' HEAD >/dev/null 2>&1; then
	platforms=("${all[@]}")
	log "building the snapshot release for linux, darwin and windows on amd64 and arm64"
else
	platforms=("$host")
	others=()
	for platform in "${all[@]}"; do
		[[ "$platform" == "$host" ]] || others+=("${platform/_//}")
	done
	log "type-checking ${others[*]}"
	typecheck_dir=$(mktemp -d)
	GOWORK=off GOFLAGS=-mod=readonly go -C hack/tools/typecheck build -o "$typecheck_dir/typecheck" .
	"$typecheck_dir/typecheck" -platforms "$(IFS=,; echo "${others[*]}")" ./cmd/kubectl-promteam
	rm -rf "$typecheck_dir"
	config=$(mktemp --suffix=.yaml)
	trap 'rm -f "$config"' EXIT
	sed -e '/^    goos: \[/d' -e "s/^    goarch: \[.*\]\$/    targets: [$(IFS=,; echo "${platforms[*]}")]/" .goreleaser.yaml >"$config"
	grep -q '^    targets: ' "$config" || { log "cannot restrict the platforms of .goreleaser.yaml: its goos/goarch lines changed"; exit 1; }
	log "building the snapshot release for ${platforms[*]} (RELEASE_ALL=1 builds all six)"
fi
goreleaser release --snapshot --clean --config "$config"

archive=$(ls dist/kubectl-promteam_v*_"$host".tar.gz)
tag=$(basename "$archive" | sed -E "s/^kubectl-promteam_(v[^_]+)_${host}\\.tar\\.gz\$/\\1/")
for platform in "${platforms[@]}"; do
	ext=tar.gz
	[[ "$platform" == windows_* ]] && ext=zip
	[[ -f "dist/kubectl-promteam_${tag}_${platform}.${ext}" ]] || { log "missing archive for $platform"; exit 1; }
done
subset=()
if [[ ${#platforms[@]} -lt ${#all[@]} ]]; then
	subset=(-platforms "$(IFS=,; echo "${platforms[*]}")")
fi

# The manifest as krew-release-bot would publish it (for the platforms built).
go build -o dist/render-krew ./hack/render-krew
dist/render-krew -template krew/promteam.yaml -dist dist -tag "$tag" "${subset[@]}" -out dist/krew/promteam.yaml
validate-krew-manifest -manifest dist/krew/promteam.yaml -skip-install

# The same manifest downloading from a local server, so the validator can install every platform.
rm -f dist/serving
dist/render-krew -serve 127.0.0.1:0 -address-file dist/serving -dist dist &
server=$!
krew_root=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$krew_root"; [[ "$config" == .goreleaser.yaml ]] || rm -f "$config"' EXIT
for _ in $(seq 50); do [[ -s dist/serving ]] && break; sleep 0.1; done
dist/render-krew -template krew/promteam.yaml -dist dist -tag "$tag" "${subset[@]}" -base-url "http://$(cat dist/serving)" -out dist/krew-local/promteam.yaml
validate-krew-manifest -manifest dist/krew-local/promteam.yaml

KREW_ROOT="$krew_root" kubectl krew install --manifest=dist/krew/promteam.yaml --archive="$archive"
got=$(PATH="$krew_root/bin:$PATH" kubectl promteam version)
log "kubectl promteam version: $got"
[[ "$got" == "kubectl-promteam $tag "* ]] || { log "want version $tag"; exit 1; }
