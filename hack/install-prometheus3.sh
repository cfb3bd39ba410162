#!/usr/bin/env bash
# Builds prometheus3 into $PROMTEAM_BIN: a current Prometheus 3 for the end-to-end tests that run
# the operator's configuration (Debian's 2.42 cannot read it: it uses kubernetes_sd_configs
# options 2.42 lacks) and serve Thanos sidecars. It is the github.com/prometheus/prometheus that
# Thanos' module graph requires (hack/tools/thanos), so the sidecars run next to the Prometheus
# release their Thanos was built and tested against, with Thanos' slicelabels tag. It has
# Kubernetes service discovery only (remove_all_sd,enable_kubernetes_sd): the operator's
# configuration uses no other, and the cloud providers' SDKs are most of Prometheus' source.
#
# Cold: about 4.5 minutes on 2 cores (276 s measured after Thanos with empty caches; the two builds
# share little beyond gRPC and protobuf). A stamp next to the binary skips the build once done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/build-lib.sh"

dir="$REPO_ROOT/hack/tools/thanos"
module=github.com/prometheus/prometheus
stamp="$PROMTEAM_BIN/.prometheus3.stamp"
tags=slicelabels,remove_all_sd,enable_kubernetes_sd

pinned=$(required_version "$dir" "$module")
content="prometheus $pinned tags $tags go.sum $(sha256 "$dir/go.sum")"
if up_to_date "$stamp" "$content" prometheus3; then
	log "prometheus3 ($pinned) is up to date in $PROMTEAM_BIN"
	exit 0
fi

# Module v0.MNN.P is Prometheus M.NN.P (v0.308.0 is 3.8.0).
mnn=${pinned#v0.}
patch=${mnn#*.}
mnn=${mnn%%.*}
version="$((10#$mnn / 100)).$((10#$mnn % 100)).$patch"
log "building Prometheus $version ($pinned) with Kubernetes service discovery only"
start=$SECONDS
new_build_dir
if ! (cd "$dir" && go build -tags "$tags" \
	-ldflags "-s -w -X github.com/prometheus/common/version.Version=$version -X github.com/prometheus/common/version.Revision=$pinned" \
	-o "$BUILD_TMP/prometheus3" "$module/cmd/prometheus"); then
	log "building Prometheus $pinned failed"
	exit 1
fi
install_built prometheus3
echo "$content" >"$stamp"
log "built Prometheus $version in $((SECONDS - start))s"
"$PROMTEAM_BIN/prometheus3" --version 2>&1 | head -1 >&2
