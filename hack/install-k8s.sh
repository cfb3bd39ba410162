#!/usr/bin/env bash
# Builds the Kubernetes test binaries into $PROMTEAM_BIN:
#   kube-apiserver and kubectl (k8s.io/kubernetes $KUBERNETES_VERSION)
#   etcd                       (go.etcd.io/etcd/server/v3 $ETCD_VERSION)
#   kwok                       (sigs.k8s.io/kwok $KWOK_VERSION), the node agent of the port-forward tests
#
# `go install pkg@version` refuses k8s.io/kubernetes and etcd's server module because their go.mod
# files carry replace directives, so each is built from a small wrapper module under hack/tools/
# that requires it (and, for Kubernetes, replaces every k8s.io staging module with its published
# release). kwok's module has no replace directives, so `go install kwok@version` builds it. A
# stamp file next to the binaries records the version (and the wrapper's go.sum hash); when it
# still matches, the build is skipped.
#
# The first Kubernetes build takes about 7 minutes and 2.5 GB of memory on 2 cores; kwok about 2.
source "$(dirname "$0")/lib.sh"

KWOK_VERSION=${KWOK_VERSION:-v0.8.0}

# The wrappers are complete modules; do not let a go.work or a stray GOFLAGS change how they build.
export GOWORK=off
export GOFLAGS="-mod=readonly -buildvcs=false"
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

build_kubernetes() {
	local dir="$REPO_ROOT/hack/tools/kubernetes"
	local stamp="$PROMTEAM_BIN/.kubernetes.stamp"
	local pinned
	pinned=$(required_version "$dir" k8s.io/kubernetes)
	if [[ "$pinned" != "$KUBERNETES_VERSION" ]]; then
		log "hack/tools/kubernetes/go.mod requires k8s.io/kubernetes $pinned but KUBERNETES_VERSION is $KUBERNETES_VERSION"
		return 1
	fi
	local content="kubernetes $KUBERNETES_VERSION go.sum $(sha256 "$dir/go.sum")"
	if up_to_date "$stamp" "$content" kube-apiserver kubectl; then
		log "kube-apiserver and kubectl $KUBERNETES_VERSION are up to date in $PROMTEAM_BIN"
		return 0
	fi

	log "building kube-apiserver and kubectl $KUBERNETES_VERSION (about 7 minutes the first time)"
	local start=$SECONDS
	new_build_dir
	# One invocation for both commands so they share the package builds.
	if ! (cd "$dir" && go build \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION" \
		-o "$BUILD_TMP/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl); then
		log "building kube-apiserver and kubectl failed"
		return 1
	fi
	install_built kube-apiserver kubectl
	echo "$content" >"$stamp"
	log "built kube-apiserver and kubectl $KUBERNETES_VERSION in $((SECONDS - start))s"
}

build_etcd() {
	local dir="$REPO_ROOT/hack/tools/etcd"
	local stamp="$PROMTEAM_BIN/.etcd.stamp"
	local pinned
	pinned=$(required_version "$dir" go.etcd.io/etcd/server/v3)
	if [[ "$pinned" != "$ETCD_VERSION" ]]; then
		log "hack/tools/etcd/go.mod requires go.etcd.io/etcd/server/v3 $pinned but ETCD_VERSION is $ETCD_VERSION"
		return 1
	fi
	local content="etcd $ETCD_VERSION go.sum $(sha256 "$dir/go.sum")"
	if up_to_date "$stamp" "$content" etcd; then
		log "etcd $ETCD_VERSION is up to date in $PROMTEAM_BIN"
		return 0
	fi

	log "building etcd $ETCD_VERSION (about a minute the first time)"
	local start=$SECONDS
	new_build_dir
	if ! (cd "$dir" && go build -ldflags "-s -w" -o "$BUILD_TMP/etcd" go.etcd.io/etcd/server/v3); then
		log "building etcd failed"
		return 1
	fi
	install_built etcd
	echo "$content" >"$stamp"
	log "built etcd $ETCD_VERSION in $((SECONDS - start))s"
}

build_kwok() {
	local stamp="$PROMTEAM_BIN/.kwok.stamp"
	local content="kwok $KWOK_VERSION"
	if up_to_date "$stamp" "$content" kwok; then
		log "kwok $KWOK_VERSION is up to date in $PROMTEAM_BIN"
		return 0
	fi

	log "building kwok $KWOK_VERSION (about two minutes the first time)"
	local start=$SECONDS
	new_build_dir
	# GOFLAGS=-mod=readonly does not apply to `go install pkg@version`; the module's own go.sum
	# and the checksum database pin what is built.
	if ! GOBIN="$BUILD_TMP" GOFLAGS=-buildvcs=false go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"; then
		log "building kwok failed"
		return 1
	fi
	install_built kwok
	echo "$content" >"$stamp"
	log "built kwok $KWOK_VERSION in $((SECONDS - start))s"
}

build_etcd
build_kubernetes
build_kwok

"$PROMTEAM_BIN/kube-apiserver" --version >&2
"$PROMTEAM_BIN/kubectl" version --client >&2
"$PROMTEAM_BIN/etcd" --version >&2
"$PROMTEAM_BIN/kwok" --version >&2
