#!/usr/bin/env bash
# Builds what the operator end-to-end test runs besides the Kubernetes binaries:
#   prometheus-operator  (github.com/prometheus-operator/prometheus-operator $OPERATOR_VERSION,
#                         cmd/operator, from the wrapper module hack/tools/operator)
#   prometheus3          (github.com/prometheus/prometheus $PROMETHEUS3_MODULE_VERSION, a current
#                         Prometheus 3: Debian's 2.42 cannot read the operator's configuration,
#                         which uses kubernetes_sd_configs options 2.42 lacks), with Kubernetes
#                         service discovery only (-tags remove_all_sd,enable_kubernetes_sd): the
#                         operator's configuration uses no other, and the cloud providers' SDKs
#                         are most of Prometheus' source
#
# The operator's root module carries replace directives, so `go install @version` refuses it and
# it is built from a wrapper module; v0.93.1 is the newest version whose types, client and CRDs all
# resolve on the module proxy (its CRDs are vendored under testdata/crds/v0.93.1). `go mod tidy`
# cannot run in the wrapper (an ambiguous import among Prometheus' test dependencies), so its
# go.sum was made with `go get` and is used as it is.
#
# Cold: the operator about 3 minutes, Prometheus about 5 minutes and 2 GB of memory on 2 cores.
# Stamps next to the binaries skip both builds once done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/build-lib.sh"

OPERATOR_VERSION=${OPERATOR_VERSION:-v0.93.1}
PROMETHEUS3_MODULE_VERSION=${PROMETHEUS3_MODULE_VERSION:-v0.316.0}

build_operator() {
	local dir="$REPO_ROOT/hack/tools/operator"
	local module=github.com/prometheus-operator/prometheus-operator
	local stamp="$PROMTEAM_BIN/.operator.stamp"
	local pinned
	pinned=$(required_version "$dir" "$module")
	if [[ "$pinned" != "$OPERATOR_VERSION" ]]; then
		log "hack/tools/operator/go.mod requires $module $pinned but OPERATOR_VERSION is $OPERATOR_VERSION"
		return 1
	fi
	local content="operator $OPERATOR_VERSION go.sum $(sha256 "$dir/go.sum")"
	if up_to_date "$stamp" "$content" prometheus-operator; then
		log "prometheus-operator $OPERATOR_VERSION is up to date in $PROMTEAM_BIN"
		return 0
	fi

	log "building prometheus-operator $OPERATOR_VERSION (about 3 minutes the first time)"
	local start=$SECONDS
	new_build_dir
	local v=${OPERATOR_VERSION#v}
	if ! (cd "$dir" && go build \
		-ldflags "-s -w -X github.com/prometheus/common/version.Version=$v -X github.com/prometheus/common/version.Revision=$OPERATOR_VERSION" \
		-o "$BUILD_TMP/prometheus-operator" "$module/cmd/operator"); then
		log "building prometheus-operator failed"
		return 1
	fi
	install_built prometheus-operator
	echo "$content" >"$stamp"
	log "built prometheus-operator $OPERATOR_VERSION in $((SECONDS - start))s"
}

build_prometheus3() {
	local stamp="$PROMTEAM_BIN/.prometheus3.stamp"
	local tags=remove_all_sd,enable_kubernetes_sd
	local content="prometheus $PROMETHEUS3_MODULE_VERSION tags $tags"
	if up_to_date "$stamp" "$content" prometheus3; then
		log "prometheus3 ($PROMETHEUS3_MODULE_VERSION) is up to date in $PROMTEAM_BIN"
		return 0
	fi

	# Module v0.MNN.P is Prometheus M.NN.P (v0.316.0 is 3.16.0).
	local mnn=${PROMETHEUS3_MODULE_VERSION#v0.}
	local patch=${mnn#*.}
	mnn=${mnn%%.*}
	local version="$((10#$mnn / 100)).$((10#$mnn % 100)).$patch"
	log "building Prometheus $version ($PROMETHEUS3_MODULE_VERSION) with Kubernetes service discovery only, from the Go module proxy (about 5 minutes the first time)"
	local start=$SECONDS
	new_build_dir
	if ! GOBIN="$BUILD_TMP" GOFLAGS=-buildvcs=false go install -tags "$tags" \
		-ldflags "-s -w -X github.com/prometheus/common/version.Version=$version -X github.com/prometheus/common/version.Revision=$PROMETHEUS3_MODULE_VERSION" \
		"github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS3_MODULE_VERSION"; then
		log "building Prometheus $PROMETHEUS3_MODULE_VERSION failed"
		return 1
	fi
	mv "$BUILD_TMP/prometheus" "$BUILD_TMP/prometheus3"
	install_built prometheus3
	echo "$content" >"$stamp"
	log "built Prometheus $version in $((SECONDS - start))s"
}

build_operator
build_prometheus3

"$PROMTEAM_BIN/prometheus-operator" --version >&2
"$PROMTEAM_BIN/prometheus3" --version 2>&1 | head -1 >&2
