#!/usr/bin/env bash
# Builds a snapshot release for every platform, renders the krew manifest for its archives,
# validates it (krew's validator installs every platform from a local server), installs the
# linux/amd64 archive with krew into a temporary KREW_ROOT and runs the plugin through kubectl's
# own plugin discovery.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
export PATH="$PROMTEAM_BIN:$PATH"

goreleaser check
log "building the snapshot release for linux, darwin and windows on amd64 and arm64"
goreleaser release --snapshot --clean

archive=$(ls dist/kubectl-promteam_v*_linux_amd64.tar.gz)
tag=$(basename "$archive" | sed -E 's/^kubectl-promteam_(v[^_]+)_linux_amd64\.tar\.gz$/\1/')
for platform in linux_amd64.tar.gz linux_arm64.tar.gz darwin_amd64.tar.gz darwin_arm64.tar.gz windows_amd64.zip windows_arm64.zip; do
	[[ -f "dist/kubectl-promteam_${tag}_${platform}" ]] || { log "missing archive for $platform"; exit 1; }
done

# The manifest as krew-release-bot would publish it.
go run ./hack/render-krew -template krew/promteam.yaml -dist dist -tag "$tag" -out dist/krew/promteam.yaml
validate-krew-manifest -manifest dist/krew/promteam.yaml -skip-install

# The same manifest downloading from a local server, so the validator can install every platform.
go build -o dist/render-krew ./hack/render-krew
rm -f dist/serving
dist/render-krew -serve 127.0.0.1:0 -address-file dist/serving -dist dist &
server=$!
krew_root=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$krew_root"' EXIT
for _ in $(seq 50); do [[ -s dist/serving ]] && break; sleep 0.1; done
dist/render-krew -template krew/promteam.yaml -dist dist -tag "$tag" -base-url "http://$(cat dist/serving)" -out dist/krew-local/promteam.yaml
validate-krew-manifest -manifest dist/krew-local/promteam.yaml

KREW_ROOT="$krew_root" kubectl krew install --manifest=dist/krew/promteam.yaml --archive="$archive"
got=$(PATH="$krew_root/bin:$PATH" kubectl promteam version)
log "kubectl promteam version: $got"
[[ "$got" == "kubectl-promteam $tag "* ]] || { log "want version $tag"; exit 1; }
