#!/usr/bin/env bash
# Builds the Kubernetes test binaries into $PROMTEAM_BIN:
#   kube-apiserver, kubectl,   (k8s.io/kubernetes $KUBERNETES_VERSION; the controller manager and
#   kube-controller-manager,    the scheduler run under the operator end-to-end test, whose pods
#   kube-scheduler              come from a StatefulSet and a Deployment)
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

source "$(dirname "$0")/build-lib.sh"

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
	local bins=(kube-apiserver kubectl kube-controller-manager kube-scheduler)
	if up_to_date "$stamp" "$content" "${bins[@]}"; then
		log "${bins[*]} $KUBERNETES_VERSION are up to date in $PROMTEAM_BIN"
		return 0
	fi

	log "building ${bins[*]} $KUBERNETES_VERSION (about 9 minutes the first time)"
	local start=$SECONDS
	new_build_dir
	# One invocation for every command so they share the package builds.
	local minor=${KUBERNETES_VERSION#v1.}
	minor=${minor%%.*}
	if ! (cd "$dir" && go build \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION" \
		-o "$BUILD_TMP/" \
		"${bins[@]/#/k8s.io/kubernetes/cmd/}"); then
		log "building ${bins[*]} failed"
		return 1
	fi
	install_built "${bins[@]}"
	echo "$content" >"$stamp"
	log "built ${bins[*]} $KUBERNETES_VERSION in $((SECONDS - start))s"
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
	if ! GOBIN="$BUILD_TMP" GOFLAGS="-buildvcs=false -trimpath" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"; then
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
"$PROMTEAM_BIN/kube-controller-manager" --version >&2
"$PROMTEAM_BIN/kube-scheduler" --version >&2
"$PROMTEAM_BIN/etcd" --version >&2
"$PROMTEAM_BIN/kwok" --version >&2
