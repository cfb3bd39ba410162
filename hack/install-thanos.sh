#!/usr/bin/env bash
# Builds thanos (github.com/thanos-io/thanos $THANOS_VERSION, cmd/thanos) into $PROMTEAM_BIN for
# the Thanos end-to-end tests, which run it as the sidecar of each Prometheus pod with the
# arguments the operator generated and as the team's Thanos Query with the arguments `create`
# generated.
#
# Thanos' root module carries replace directives, so `go install @version` refuses it; it is built
# from the wrapper module hack/tools/thanos, which repeats those seven replace directives. v0.41.0
# is the newest release that builds with the Go this project requires (v0.42 needs a newer one).
#
# Thanos' labels code is written for Prometheus' slice-backed labels.Labels: built without the
# slicelabels tag (Prometheus' default is stringlabels) the sidecar panics on its first series, so
# the build passes it as Thanos' own Makefile does.
#
# Cold: about 7 minutes (395 s measured with empty caches) and 3 GB of memory on 2 cores. A stamp next to the binary skips the build
# once done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/build-lib.sh"

dir="$REPO_ROOT/hack/tools/thanos"
module=github.com/thanos-io/thanos
stamp="$PROMTEAM_BIN/.thanos.stamp"

pinned=$(required_version "$dir" "$module")
if [[ "$pinned" != "$THANOS_VERSION" ]]; then
	log "hack/tools/thanos/go.mod requires $module $pinned but THANOS_VERSION is $THANOS_VERSION"
	exit 1
fi
tags=slicelabels
content="thanos $THANOS_VERSION tags $tags go.sum $(sha256 "$dir/go.sum")"
if up_to_date "$stamp" "$content" thanos; then
	log "thanos $THANOS_VERSION is up to date in $PROMTEAM_BIN"
	exit 0
fi

log "building thanos $THANOS_VERSION (about 7 minutes the first time)"
start=$SECONDS
new_build_dir
v=${THANOS_VERSION#v}
if ! (cd "$dir" && go build -tags "$tags" \
	-ldflags "-s -w -X github.com/prometheus/common/version.Version=$v -X github.com/prometheus/common/version.Revision=$THANOS_VERSION" \
	-o "$BUILD_TMP/thanos" "$module/cmd/thanos"); then
	log "building thanos failed"
	exit 1
fi
install_built thanos
echo "$content" >"$stamp"
log "built thanos $THANOS_VERSION in $((SECONDS - start))s"
"$PROMTEAM_BIN/thanos" --version 2>&1 | head -1 >&2
