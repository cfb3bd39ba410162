#!/usr/bin/env bash
# Builds prometheus-operator (github.com/prometheus-operator/prometheus-operator $OPERATOR_VERSION,
# cmd/operator, from the wrapper module hack/tools/operator) for the operator end-to-end tests. The
# Prometheus 3 they run is hack/install-prometheus3.sh's.
#
# The operator's root module carries replace directives, so `go install @version` refuses it and
# it is built from a wrapper module; v0.93.1 is the newest version whose types, client and CRDs all
# resolve on the module proxy (its CRDs are vendored under testdata/crds/v0.93.1). `go mod tidy`
# cannot run in the wrapper (an ambiguous import among Prometheus' test dependencies), so its
# go.sum was made with `go get` and is used as it is.
#
# Cold: about 3 minutes on 2 cores. A stamp next to the binary skips the build once done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/build-lib.sh"

OPERATOR_VERSION=${OPERATOR_VERSION:-v0.93.1}

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

build_operator

"$PROMTEAM_BIN/prometheus-operator" --version >&2
