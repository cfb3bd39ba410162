//go:build e2e

package plugin

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestBadInputThroughTheBinary runs the real binary: every mistake is one line on stderr that
// names the flag and what it accepts, the command's error exit status (1; 2 for diff, doctor and
// alerts test, 3 for compare, whose 1 and 2 are verdicts), and nothing on stdout.
func TestBadInputThroughTheBinary(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	tests := []struct {
		name string
		args []string
		want []string // substrings of the one stderr line
	}{
		{"no team", []string{"create"}, []string{"needs a team name"}},
		{"two teams", []string{"create", "a", "b"}, []string{"takes one team name"}},
		{"upper-case team", []string{"create", "Team-A"}, []string{`invalid team name "Team-A"`, "lower-case"}},
		{"underscore team", []string{"create", "team_a"}, []string{"invalid team name", "such as team-a"}},
		{"team too long", []string{"create", strings.Repeat("t", 42)}, []string{"invalid team name", "at most 41 characters"}},
		{"team too long for shards", []string{"create", strings.Repeat("t", 38), "--shards", "3"}, []string{"invalid team name", "at most 33"}},
		{"bad namespace", []string{"create", "team-a", "-n", "Team_NS"}, []string{`invalid --namespace "Team_NS"`}},
		{"retention in words", []string{"create", "team-a", "--retention", "15 days"}, []string{`invalid --retention "15 days"`, "15d"}},
		{"retention zero", []string{"create", "team-a", "--retention", "0d"}, []string{"--retention", "longer than zero"}},
		{"retention size decimal unit", []string{"create", "team-a", "--retention-size", "16G"}, []string{"--retention-size", "16GiB"}},
		{"retention size above storage", []string{"create", "team-a", "--retention-size", "30Gi"}, []string{"--retention-size", "larger than --storage 20Gi", "8GiB"[1:]}},
		{"storage word", []string{"create", "team-a", "--storage", "big"}, []string{`invalid --storage "big"`, "20Gi"}},
		{"storage decimal unit", []string{"create", "team-a", "--storage", "20G"}, []string{`invalid --storage "20G"`, "use 20Gi", "binary units"}},
		{"memory exponent", []string{"create", "team-a", "--memory", "5e8"}, []string{`invalid --memory "5e8"`, "binary units (Ki, Mi, Gi, Ti)"}},
		{"memory limit decimal unit", []string{"create", "team-a", "--memory-limit", "4G"}, []string{`invalid --memory-limit "4G"`, "use 4Gi"}},
		{"storage tiny", []string{"create", "team-a", "--storage", "10Mi"}, []string{"--storage", "at least 1Gi"}},
		{"storage class name", []string{"create", "team-a", "--storage-class", "Fast_SSD"}, []string{"--storage-class", "StorageClass name"}},
		{"replicas word", []string{"create", "team-a", "--replicas", "two"}, []string{`invalid --replicas "two"`, "whole number"}},
		{"replicas zero", []string{"create", "team-a", "--replicas", "0"}, []string{"--replicas", "1 or more"}},
		{"shards negative", []string{"create", "team-a", "--shards=-1"}, []string{"--shards"}},
		{"shards without a query layer", []string{"create", "team-a", "--shards", "2"}, []string{`invalid --shards "2"`, "add --thanos", "--remote-write"}},
		{"thanos objstore without thanos", []string{"create", "team-a", "--thanos-objstore", "objstore/thanos.yaml"}, []string{`invalid --thanos-objstore "objstore/thanos.yaml"`, "only applies with --thanos"}},
		{"thanos version without thanos", []string{"create", "team-a", "--thanos-version", "v0.41.0"}, []string{"invalid --thanos-version", "only applies with --thanos"}},
		{"thanos image without thanos", []string{"create", "team-a", "--thanos-image", "thanosio/thanos:v0.41.0"}, []string{"invalid --thanos-image", "only applies with --thanos"}},
		{"thanos query replicas without thanos", []string{"create", "team-a", "--thanos-query-replicas", "2"}, []string{"invalid --thanos-query-replicas", "only applies with --thanos"}},
		{"thanos version word", []string{"create", "team-a", "--thanos", "--thanos-version", "latest"}, []string{`invalid --thanos-version "latest"`, "such as v0.41.0"}},
		{"thanos version old", []string{"create", "team-a", "--thanos", "--thanos-version", "v0.20.0"}, []string{"--thanos-version", "v0.24.0 or later"}},
		{"thanos version major", []string{"create", "team-a", "--thanos", "--thanos-version", "v1.0.0"}, []string{"--thanos-version", "unknown major version 1"}},
		{"thanos image unpinned", []string{"create", "team-a", "--thanos", "--thanos-image", "thanosio/thanos"}, []string{`invalid --thanos-image "thanosio/thanos"`, "pin a tag or digest"}},
		{"thanos image latest", []string{"create", "team-a", "--thanos", "--thanos-image", "thanosio/thanos:latest"}, []string{"--thanos-image", "pin a tag or digest"}},
		{"thanos image malformed", []string{"create", "team-a", "--thanos", "--thanos-image", "Thanos IO/thanos:v0.41.0"}, []string{"--thanos-image", "use an image reference such as thanosio/thanos:v0.41.0"}},
		{"thanos image other release", []string{"create", "team-a", "--thanos", "--thanos-image", "thanosio/thanos:v0.40.0"}, []string{"--thanos-image", "differs from --thanos-version v0.41.0"}},
		{"thanos objstore without key", []string{"create", "team-a", "--thanos", "--thanos-objstore", "objstore"}, []string{`invalid --thanos-objstore "objstore"`, "SECRET/KEY, such as thanos-objstore/objstore.yaml"}},
		{"thanos objstore bad secret", []string{"create", "team-a", "--thanos", "--thanos-objstore", "Obj_Store/thanos.yaml"}, []string{"--thanos-objstore", "secret name"}},
		{"thanos query replicas zero", []string{"create", "team-a", "--thanos", "--thanos-query-replicas", "0"}, []string{"--thanos-query-replicas", "1 or more"}},
		{"thanos query replicas word", []string{"create", "team-a", "--thanos", "--thanos-query-replicas", "two"}, []string{"--thanos-query-replicas", "whole number"}},
		{"thanos word", []string{"create", "team-a", "--thanos=maybe"}, []string{"--thanos"}},
		{"cpu", []string{"create", "team-a", "--cpu", "lots"}, []string{`invalid --cpu "lots"`, "100m"}},
		{"memory", []string{"create", "team-a", "--memory", "0"}, []string{"--memory", "positive"}},
		{"memory limit below request", []string{"create", "team-a", "--memory", "4Gi"}, []string{"--memory-limit", "below the --memory request 4Gi"}},
		{"scrape interval", []string{"create", "team-a", "--scrape-interval", "30"}, []string{`invalid --scrape-interval "30"`}},
		{"envoy scrape interval too long", []string{"create", "team-a", "--envoy-scrape-interval", "5m"}, []string{"--envoy-scrape-interval", "75s or less"}},
		{"evaluation interval", []string{"create", "team-a", "--evaluation-interval", "1 minute"}, []string{"--evaluation-interval"}},
		{"evaluation interval above the rule window", []string{"create", "team-a", "--evaluation-interval", "10m"}, []string{`invalid --evaluation-interval "10m"`, "5m window", "use 2m30s or less"}},
		{"evaluation interval above the burn-rate for", []string{"create", "team-a", "--slo", "99.9", "--evaluation-interval", "2m"}, []string{`invalid --evaluation-interval "2m"`, "--slo", "use 1m or less"}},
		{"remote write scheme", []string{"create", "team-a", "--remote-write", "metrics.example.com/write"}, []string{"--remote-write", "http or https URL"}},
		{"remote write credentials", []string{"create", "team-a", "--remote-write", "https://u:p@m.example.com/w"}, []string{"--remote-write", "Secret"}},
		{"remote write query credentials", []string{"create", "team-a", "--remote-write", "https://h/p?token=SECRET"}, []string{"--remote-write", "Secret", "token="}},
		{"team 64 characters", []string{"create", strings.Repeat("t", 64)}, []string{"invalid team name", "at most 41 characters"}},
		{"retention past 292 years", []string{"create", "team-a", "--retention", "300y"}, []string{`invalid --retention "300y"`, "292y"}},
		{"envoy scrape interval 1ms", []string{"create", "team-a", "--envoy-scrape-interval", "1ms"}, []string{`invalid --envoy-scrape-interval "1ms"`, "1s or more"}},
		{"memory overflows", []string{"create", "team-a", "--memory", "99999999999999999999Ei"}, []string{`invalid --memory "99999999999999999999Ei"`, "too large"}},
		{"memory limit overflows", []string{"create", "team-a", "--memory-limit", "9Ei"}, []string{`invalid --memory-limit "9Ei"`, "too large"}},
		{"cpu overflows", []string{"create", "team-a", "--cpu", "99999999999999999"}, []string{`invalid --cpu`, "too large"}},
		{"selector key twice", []string{"create", "team-a", "--envoy-selector", "app=envoy,app=evil"}, []string{`invalid --envoy-selector "app=envoy,app=evil"`, "given twice"}},
		{"remote write tenant alone", []string{"create", "team-a", "--remote-write-tenant", "team-a"}, []string{`invalid --remote-write-tenant "team-a"`, "only applies with --remote-write"}},
		{"remote write tenant slash", []string{"create", "team-a", "--remote-write", "https://m/w", "--remote-write-tenant", "team/a"}, []string{"--remote-write-tenant", "not allowed in a tenant ID", "such as team-a"}},
		{"remote write tenant empty", []string{"create", "team-a", "--remote-write", "https://m/w", "--remote-write-tenant="}, []string{"--remote-write-tenant", "name the tenant"}},
		{"remote write basic auth alone", []string{"create", "team-a", "--remote-write-basic-auth", "auth"}, []string{`invalid --remote-write-basic-auth "auth"`, "only applies with --remote-write"}},
		{"remote write basic auth key", []string{"create", "team-a", "--remote-write", "https://m/w", "--remote-write-basic-auth", "auth/password"}, []string{"--remote-write-basic-auth", "name only the Secret", "username and password"}},
		{"remote write basic auth name", []string{"create", "team-a", "--remote-write", "https://m/w", "--remote-write-basic-auth", "Auth_Secret"}, []string{"--remote-write-basic-auth", "secret name"}},
		{"remote write bearer alone", []string{"create", "team-a", "--remote-write-bearer", "rw/token"}, []string{`invalid --remote-write-bearer "rw/token"`, "only applies with --remote-write"}},
		{"remote write bearer without key", []string{"create", "team-a", "--remote-write", "https://m/w", "--remote-write-bearer", "rw"}, []string{"--remote-write-bearer", "SECRET/KEY"}},
		{"remote write both credentials", []string{"create", "team-a", "--remote-write", "https://m/w", "--remote-write-basic-auth", "auth", "--remote-write-bearer", "rw/token"},
			[]string{"--remote-write-bearer", "contradicts --remote-write-basic-auth", "use one of the two"}},
		{"header with credentials", []string{"top", "--once", "--prometheus-url", "http://localhost:9090", "--header", "Authorization=Bearer x"}, []string{`invalid --header "Authorization=…"`, "--prometheus-bearer-token-file"}},
		{"header without value", []string{"top", "--once", "--prometheus-url", "http://localhost:9090", "--header", "X-Scope-OrgID"}, []string{"--header", "NAME=VALUE"}},
		{"header without url", []string{"top", "--once", "--demo", "--header", "X-A=1"}, []string{"--header", "--prometheus-url only"}},
		{"tenant bad", []string{"compare", "--prometheus-url", "http://localhost:9090", "--envoy-namespace", "shop", "--baseline", "a", "--canary", "b", "--tenant", "a b"}, []string{`invalid --tenant "a b"`, "tenant ID"}},
		{"tenant without url", []string{"top", "team-a", "--once", "--tenant", "team-a"}, []string{"--tenant", "--prometheus-url only"}},
		{"remote write twice", []string{"create", "team-a", "--remote-write", "https://m/w", "--remote-write", "https://m/w"}, []string{"--remote-write", "twice"}},
		{"label without value", []string{"create", "team-a", "--external-label", "cluster"}, []string{`invalid --external-label "cluster"`, "name=value"}},
		{"label bad name", []string{"create", "team-a", "--external-label", "my-cluster=x"}, []string{"--external-label", "label name"}},
		{"label reserved", []string{"create", "team-a", "--external-label", "prometheus_replica=x"}, []string{"--external-label", "set by the stack"}},
		{"shard label reserved", []string{"create", "team-a", "--shards", "2", "--thanos", "--external-label", "prometheus_shard=0"}, []string{"--external-label", "prometheus_shard", "set by the stack"}},
		{"label twice", []string{"create", "team-a", "--external-label", "a=1", "--external-label", "a=2"}, []string{"--external-label", "twice"}},
		{"unknown preset", []string{"create", "team-a", "--envoy", "nginx"}, []string{`invalid --envoy "nginx"`, "envoy, emissary, contour"}},
		{"none with others", []string{"create", "team-a", "--envoy", "none", "--envoy", "envoy"}, []string{"--envoy", "none cannot be combined"}},
		{"selector syntax", []string{"create", "team-a", "--envoy-selector", "app in"}, []string{"--envoy-selector", "label selector"}},
		{"selector with none", []string{"create", "team-a", "--envoy", "none", "--envoy-selector", "app=x"}, []string{"--envoy-selector", "none"}},
		{"envoy namespace", []string{"create", "team-a", "--envoy-namespace", "Edge!"}, []string{"--envoy-namespace"}},
		{"envoy namespace and cluster scope", []string{"create", "team-a", "--envoy-namespace", "edge", "--cluster-scope"}, []string{"--envoy-namespace", "one of the two"}},
		{"version", []string{"create", "team-a", "--prometheus-version", "latest"}, []string{`invalid --prometheus-version "latest"`, "v3.5.0"}},
		{"old version", []string{"create", "team-a", "--prometheus-version", "v2.30.0"}, []string{"--prometheus-version", "v2.45.0 or later"}},
		{"unknown major version", []string{"create", "team-a", "--prometheus-version", "v9.9.9"}, []string{`invalid --prometheus-version "v9.9.9"`, "unknown major version 9", "v3.5.0"}},
		{"prometheus 2 with a memory limit", []string{"create", "team-a", "--prometheus-version", "v2.45.0"}, []string{`invalid --prometheus-version "v2.45.0"`, "GOMEMLIMIT", "--memory-limit 0"}},
		{"target limit negative", []string{"create", "team-a", "--target-limit=-1"}, []string{`invalid --target-limit "-1"`, "such as 200, or 0 for no limit"}},
		{"sample limit word", []string{"create", "team-a", "--sample-limit", "lots"}, []string{`invalid --sample-limit "lots"`, "whole number such as 200000"}},
		{"slo as fraction", []string{"create", "team-a", "--slo", "0.999"}, []string{`invalid --slo "0.999"`, "such as 99.9"}},
		{"slo hundred", []string{"create", "team-a", "--slo", "100"}, []string{"--slo", "below 100"}},
		{"slo without alerts", []string{"create", "team-a", "--slo", "99.9", "--no-alerts"}, []string{"--slo", "--no-alerts"}},
		{"alertmanager without a namespace", []string{"create", "team-a", "--alertmanager", "main"}, []string{`invalid --alertmanager "main"`, "own, or NAMESPACE/NAME"}},
		{"own alertmanager without receivers", []string{"create", "team-a", "--alertmanager", "own"}, []string{`invalid --alertmanager "own"`, "add --notify"}},
		{"notify without an alertmanager", []string{"create", "team-a", "--notify", "slack=s/url"}, []string{"invalid --notify", "--alertmanager own"}},
		{"notify inline URL", []string{"create", "team-a", "--alertmanager", "own", "--notify", "slack=https://hooks.slack.com/services/T0/B0/x"}, []string{"invalid --notify", "secret name"}},
		{"notify unknown kind", []string{"create", "team-a", "--alertmanager", "own", "--notify", "sms=s/k"}, []string{"invalid --notify", "unknown kind", "slack, pagerduty"}},
		{"notify bad severity", []string{"create", "team-a", "--alertmanager", "own", "--notify", "slack=s/k,severity=info"}, []string{"invalid --notify", "critical, warning or all"}},
		{"email without smarthost", []string{"create", "team-a", "--alertmanager", "own", "--notify", "email=a@example.com"}, []string{"invalid --notify", "smarthost=HOST:PORT"}},
		{"shared alertmanager without its selector label", []string{"create", "team-a", "--alertmanager", "monitoring/main", "--notify", "webhook=h/u"}, []string{"--alertmanager-config-label", "alertmanagerConfigSelector"}},
		{"config label with own", []string{"create", "team-a", "--alertmanager", "own", "--notify", "webhook=h/u", "--alertmanager-config-label", "a=b"}, []string{"--alertmanager-config-label", "only applies with --alertmanager NAMESPACE/NAME"}},
		{"alertmanager version with shared", []string{"create", "team-a", "--alertmanager", "monitoring/main", "--alertmanager-version", "v0.35.0"}, []string{"--alertmanager-version", "only applies with --alertmanager own"}},
		{"alertmanager version too old", []string{"create", "team-a", "--alertmanager", "own", "--notify", "webhook=h/u", "--alertmanager-version", "v0.21.0"}, []string{`invalid --alertmanager-version "v0.21.0"`, "v0.25.0"}},
		{"alertmanager without alerts", []string{"create", "team-a", "--alertmanager", "own", "--notify", "webhook=h/u", "--no-alerts"}, []string{"--alertmanager", "--no-alerts"}},
		{"runbook template", []string{"create", "team-a", "--runbook-url", "https://wiki/{{ .Labels }}"}, []string{"invalid --runbook-url", "{alert}"}},
		{"alerts both ways", []string{"create", "team-a", "--alerts", "--no-alerts"}, []string{"--no-alerts", "contradicts --alerts"}},
		{"alerts value", []string{"create", "team-a", "--alerts=maybe"}, []string{`invalid --alerts "maybe"`, "true or false"}},
		{"dashboard without envoy", []string{"create", "team-a", "--envoy", "none", "--grafana-dashboard"}, []string{"--grafana-dashboard"}},
		{"output", []string{"create", "team-a", "-o", "xml"}, []string{`invalid --output "xml"`, "yaml or json"}},
		{"unknown flag", []string{"create", "team-a", "--retension", "15d"}, []string{"unknown flag: --retension", "kubectl promteam create --help"}},
		{"flag without value", []string{"create", "team-a", "--retention"}, []string{"--retention"}},
		{"unknown command", []string{"craete", "team-a"}, []string{"unknown command"}},
		{"compare without arms", []string{"compare", "--demo"}, []string{"--baseline and --canary are required"}},
		{"compare bad regex", []string{"compare", "--demo", "--baseline", "a", "--canary", "~shop_(checkout"}, []string{`invalid --canary "~shop_(checkout"`, "regular expression"}},
		{"compare unknown canary", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canery_8080"}, []string{"--canary", "shop_checkout-canary_8080"}},
		{"compare window", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "--window", "10s"}, []string{`invalid --window "10s"`, "1m to 24h"}},
		{"compare window word", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "--window", "forever"}, []string{`invalid --window "forever"`}},
		{"compare step", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "--step", "5m"}, []string{`invalid --step "5m0s"`, "a third of --window"}},
		{"compare p99", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "--max-p99-increase", "lots"}, []string{"--max-p99-increase", "10%"}},
		{"compare success rate", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "--min-success-rate", "120"}, []string{"--min-success-rate"}},
		{"compare alpha", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "--alpha", "2"}, []string{"--alpha", "0.05"}},
		{"compare output", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "-o", "xml"}, []string{`invalid --output "xml"`, "use table, json or yaml"}},
		{"top output", []string{"top", "--demo", "-o", "text"}, []string{`invalid --output "text"`, "use table, wide, json or yaml"}},
		{"doctor output", []string{"doctor", "team-a", "-o", "wide"}, []string{`invalid --output "wide"`, "use table, json or yaml"}},
		{"doctor without team", []string{"doctor"}, []string{"needs a team name"}},
		{"why without subject", []string{"why", "team-a"}, []string{"takes a team and what to follow, e.g. service/envoy", "got 1 arguments"}},
		{"why subject without kind", []string{"why", "team-a", "envoy"}, []string{`invalid subject "envoy"`, "KIND/NAME or KIND NAME"}},
		{"why unknown kind", []string{"why", "team-a", "deployment/envoy"}, []string{`invalid subject "deployment/envoy"`, "use service, pod, metric or alert"}},
		{"why bad pod name", []string{"why", "team-a", "pod", "Envoy_0"}, []string{`invalid subject "pod Envoy_0"`, "RFC 1123"}},
		{"why metric with a control character", []string{"why", "team-a", "metric/a\x1bb"}, []string{`invalid subject`, "printable characters"}},
		{"why namespace of a metric", []string{"why", "team-a", "metric/up", "--envoy-namespace", "shop"}, []string{`invalid --envoy-namespace "shop"`, "metric/up has no namespace"}},
		{"why bad namespace", []string{"why", "team-a", "pod/envoy-0", "--envoy-namespace", "Shop"}, []string{`invalid --envoy-namespace "Shop"`, "name a namespace"}},
		{"why bad team", []string{"why", "Team-A", "pod/envoy-0"}, []string{`invalid team name "Team-A"`}},
		{"why output", []string{"why", "team-a", "pod/envoy-0", "-o", "wide"}, []string{`invalid --output "wide"`, "use table, json or yaml"}},
		{"compare two teams", []string{"compare", "a", "b", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080"}, []string{"at most one team name"}},
		{"compare unknown flag", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080", "--canery", "x"}, []string{"unknown flag: --canery"}},
		{"compare an arm with itself", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-primary_8080"}, []string{`invalid --canary "shop_checkout-primary_8080"`, "--baseline names the same"}},
		{"compare a canary regex that selects the baseline", []string{"compare", "--demo", "--baseline", "shop_checkout-primary_8080", "--canary", "~shop_checkout-.*"}, []string{`--canary "~shop_checkout-.*"`, "both select shop_checkout-primary_8080"}},
		{"compare --watch on overlapping arms", []string{"compare", "--demo", "--baseline", "~shop_checkout-.*", "--canary", "shop_checkout-canary_8080", "--watch"}, []string{"both select shop_checkout-canary_8080"}},
		{"top source", []string{"top", "--demo", "--source", "recorded"}, []string{`invalid --source "recorded"`, "auto, rules, raw"}},
		{"top group-by", []string{"top", "--demo", "--group-by", "routes"}, []string{`invalid --group-by "routes"`, "cluster, route, vhost"}},
		{"top vhosts from the rules", []string{"top", "--demo", "--group-by", "vhost", "--source", "rules"}, []string{`invalid --group-by "vhost"`, "--source raw"}},
		{"top vhosts of istio", []string{"top", "--demo", "--group-by", "vhost", "--dialect", "istio-standard"}, []string{`invalid --group-by "vhost"`, "--dialect envoy"}},
		{"top rules with window", []string{"top", "--demo", "--source", "rules", "--window", "1m"}, []string{`invalid --window "1m0s"`, "5m", "--source raw"}},
		{"top offsets word", []string{"top", "--demo", "--offsets", "yesterday"}, []string{`invalid --offsets "yesterday"`, "1h, 1d or 1w"}},
		{"top offsets four", []string{"top", "--demo", "--offsets", "1h,2h,1d,1w"}, []string{`invalid --offsets "1h,2h,1d,1w"`, "at most three"}},
		{"top offsets twice", []string{"top", "--demo", "--offsets", "1d,24h"}, []string{`invalid --offsets "1d,24h"`, "twice"}},
		{"top rules of another Envoy namespace", []string{"top", "--demo", "--source", "rules", "--envoy-namespace", "shop", "--once"}, []string{"kubectl promteam create", "--source raw"}},
		{"top -n without team", []string{"top", "--demo", "-n", "shop", "--once"}, []string{`invalid --namespace "shop"`, "needs a TEAM", "--service-namespace shop", "--envoy-namespace shop"}},
		{"top -n without team, by URL", []string{"top", "--prometheus-url", "http://127.0.0.1:1", "--namespace", "shop", "--once"}, []string{`invalid --namespace "shop"`, "needs a TEAM"}},
		{"compare -n without team", []string{"compare", "--demo", "-n", "shop", "--baseline", "shop_checkout-primary_8080", "--canary", "shop_checkout-canary_8080"}, []string{`invalid --namespace "shop"`, "needs a TEAM", "--envoy-namespace shop"}},
		{"top empty service namespace", []string{"top", "--demo", "--service-namespace", "nope", "--once"}, []string{`no rows in service namespace "nope"`, "namespaces with traffic: ", "shop"}},
		{"top empty Envoy namespace", []string{"top", "--demo", "--envoy-namespace", "nope", "--once"}, []string{`Envoys in namespace "nope"`, "Envoys report from namespaces: edge"}},
		{"top bad service namespace", []string{"top", "--demo", "--service-namespace", "Shop_1"}, []string{`invalid --service-namespace "Shop_1"`, "lower-case"}},
		{"compare bad Envoy namespace", []string{"compare", "--demo", "--envoy-namespace", "-x", "--baseline", "a", "--canary", "b"}, []string{`invalid --envoy-namespace "-x"`}},
		{"broken kubeconfig", []string{"create", "team-a", "--kubeconfig", "/nonexistent/kubeconfig"}, []string{"kubeconfig", "pass -n NAMESPACE"}},
		{"list -A broken kubeconfig", []string{"list", "-A", "--kubeconfig", "/nonexistent/kubeconfig"}, []string{"cannot read the kubeconfig", "/nonexistent/kubeconfig"}},
		{"top broken kubeconfig", []string{"top", "team-a", "--once", "--kubeconfig", "/nonexistent/kubeconfig"}, []string{"cannot read the kubeconfig"}},
		{"port-forward slash team", []string{"port-forward", "a/b"}, []string{`invalid team name "a/b"`, "such as team-a"}},
		{"top slash team", []string{"top", "a/b", "--once"}, []string{`invalid team name "a/b"`}},
		{"compare slash team", []string{"compare", "a/b", "--baseline", "x", "--canary", "y"}, []string{`invalid team name "a/b"`}},
		{"doctor long team", []string{"doctor", strings.Repeat("t", 64)}, []string{"invalid team name", "at most 41 characters"}},
		{"delete slash team", []string{"delete", "a/b", "--yes"}, []string{`invalid team name "a/b"`}},
		{"diff slash team", []string{"diff", "a/b"}, []string{`invalid team name "a/b"`}},
		{"list timeout", []string{"list", "--timeout", "0s"}, []string{`invalid --timeout "0s"`, "positive"}},
		{"list output", []string{"list", "-o", "xml"}, []string{`invalid --output "xml"`, "use table, wide, json or yaml"}},
		{"version output", []string{"version", "-o", "wide"}, []string{`invalid --output "wide"`, "use table, json or yaml"}},
		{"create dry-run value", []string{"create", "team-a", "--dry-run=true"}, []string{`invalid --dry-run "true"`, "use none, client or server"}},
		{"create server dry run without apply", []string{"create", "team-a", "--dry-run=server"}, []string{`invalid --dry-run "server"`, "add --apply"}},
		{"delete dry-run value", []string{"delete", "team-a", "--dry-run=yes"}, []string{`invalid --dry-run "yes"`, "use none, client or server"}},
		{"diff without team", []string{"diff"}, []string{"needs a team name"}},
		{"diff unknown flag", []string{"diff", "team-a", "--bogus"}, []string{"unknown flag: --bogus"}},
		{"diff bad value", []string{"diff", "team-a", "--retention", "15 days"}, []string{`invalid --retention "15 days"`}},
		{"diff thanos objstore without thanos", []string{"diff", "team-a", "--thanos-objstore", "objstore/thanos.yaml"}, []string{"--thanos-objstore", "only applies with --thanos"}},
		{"top CA file without URL", []string{"top", "team-a", "--prometheus-ca-file", "ca.pem"}, []string{`invalid --prometheus-ca-file "ca.pem"`, "applies to --prometheus-url only", "add --prometheus-url https://HOST:PORT or drop --prometheus-ca-file"}},
		{"top token file with demo", []string{"top", "--demo", "--prometheus-bearer-token-file", "token"}, []string{`invalid --prometheus-bearer-token-file "token"`, "--prometheus-url"}},
		{"compare insecure without URL", []string{"compare", "team-a", "--baseline", "a", "--canary", "b", "--prometheus-insecure-skip-tls-verify"}, []string{`invalid --prometheus-insecure-skip-tls-verify "true"`, "--prometheus-url"}},
		{"doctor CA file without URL", []string{"doctor", "team-a", "--prometheus-ca-file", "ca.pem"}, []string{`invalid --prometheus-ca-file "ca.pem"`, "--prometheus-url"}},
		{"doctor token file via proxy", []string{"doctor", "team-a", "--via-proxy", "--prometheus-bearer-token-file", "token"}, []string{`invalid --prometheus-bearer-token-file "token"`, "--prometheus-url"}},
		{"doctor via proxy and URL", []string{"doctor", "team-a", "--via-proxy", "--prometheus-url", "http://localhost:9090"}, []string{"--via-proxy", "one of the two"}},
		{"doctor direct and URL", []string{"doctor", "team-a", "--direct", "--prometheus-url", "http://localhost:9090"}, []string{`invalid --direct "true"`, "--prometheus-url names the server", "one of the two"}},
		{"top direct and URL", []string{"top", "team-a", "--direct", "--prometheus-url", "http://localhost:9090"}, []string{`invalid --direct "true"`, "one of the two"}},
		{"top direct and demo", []string{"top", "--direct", "--demo"}, []string{`invalid --direct "true"`, "drop --direct"}},
		{"alerts direct and URL", []string{"alerts", "team-a", "--direct", "--prometheus-url", "http://localhost:9090"}, []string{`invalid --direct "true"`, "one of the two"}},
		{"compare direct and URL", []string{"compare", "--baseline", "a", "--canary", "b", "--direct", "--prometheus-url", "http://localhost:9090"}, []string{`invalid --direct "true"`, "one of the two"}},
		{"doctor answer size", []string{"doctor", "team-a", "--prometheus-url", "http://localhost:9090", "--prometheus-max-answer-size", "lots"}, []string{`invalid --prometheus-max-answer-size "lots"`, "64Mi"}},
		{"doctor unreadable CA file", []string{"doctor", "team-a", "--prometheus-url", "https://prometheus.example:9090", "--prometheus-ca-file", "/nonexistent/ca.pem"}, []string{`invalid --prometheus-ca-file "/nonexistent/ca.pem"`, "cannot read it"}},
		{"doctor URL without scheme", []string{"doctor", "team-a", "--prometheus-url", "localhost:9090"}, []string{`invalid --prometheus-url "localhost:9090"`, "http or https URL"}},
		{"alerts test without labels", []string{"alerts", "test", "team-a"}, []string{"needs the alert's labels", "--labels NAME=VALUE"}},
		{"alerts test without team", []string{"alerts", "test", "--labels", "a=b"}, []string{"needs a team name"}},
		{"alerts test label without value", []string{"alerts", "test", "team-a", "--labels", "severity"}, []string{`invalid --labels "severity"`, "NAME=VALUE"}},
		{"alerts test label name", []string{"alerts", "test", "team-a", "--labels", "my-label=x"}, []string{`invalid --labels "my-label=x"`, "letters, digits and underscores"}},
		{"alerts test open quote", []string{"alerts", "test", "team-a", "--labels", `summary="a,b`}, []string{"--labels", "quote that does not end"}},
		{"alerts test label twice", []string{"alerts", "test", "team-a", "--labels", "a=1", "-l", "a=2"}, []string{"--labels", "given twice"}},
		{"alerts test missing config file", []string{"alerts", "test", "team-a", "--labels", "a=b", "--config-file", "/nonexistent/am.yaml"}, []string{`invalid --config-file "/nonexistent/am.yaml"`}},
		{"alerts test output", []string{"alerts", "test", "team-a", "--labels", "a=b", "-o", "xml"}, []string{`invalid --output "xml"`}},
		{"alerts missing config file", []string{"alerts", "--prometheus-url", "http://localhost:9", "--config-file", "/nonexistent/am.yaml"}, []string{`invalid --config-file "/nonexistent/am.yaml"`}},
		{"silence without matcher", []string{"silence", "create", "team-a", "-n", "team-a", "--comment", "x"}, []string{`invalid --matcher ""`, "-m envoy_cluster_name=checkout"}},
		{"silence bad matcher", []string{"silence", "create", "team-a", "-n", "team-a", "-m", "checkout", "--comment", "x"}, []string{`invalid --matcher "checkout"`, "no operator"}},
		{"silence bad regex", []string{"silence", "create", "team-a", "-n", "team-a", "-m", `a=~"("`, "--comment", "x"}, []string{"invalid --matcher", "does not compile"}},
		{"silence another team", []string{"silence", "create", "team-a", "-n", "team-a", "-m", "team=team-b", "--comment", "x"}, []string{`invalid --matcher "team=team-b"`, `team="team-a"`, "drop this matcher"}},
		{"silence without comment", []string{"silence", "create", "team-a", "-n", "team-a", "-m", "a=b"}, []string{`invalid --comment ""`, "say why"}},
		{"silence negative duration", []string{"silence", "create", "team-a", "-n", "team-a", "-m", "a=b", "--comment", "x", "--duration", "-1h"}, []string{`invalid --duration "-1h0m0s"`, "positive"}},
		{"silence until in words", []string{"silence", "create", "team-a", "-n", "team-a", "-m", "a=b", "--comment", "x", "--until", "tomorrow"}, []string{`invalid --until "tomorrow"`, "RFC 3339"}},
		{"silence until passed", []string{"silence", "create", "team-a", "-n", "team-a", "-m", "a=b", "--comment", "x", "--until", "2001-01-01T00:00:00Z"}, []string{`invalid --until`, "has passed"}},
		{"silence until and duration", []string{"silence", "create", "team-a", "-n", "team-a", "-m", "a=b", "--comment", "x", "--until", "2099-01-01T00:00:00Z", "--duration", "1h"}, []string{"invalid --until", "use one of the two"}},
		{"silence CA file without URL", []string{"silence", "list", "team-a", "-n", "team-a", "--alertmanager-ca-file", "ca.pem"}, []string{`invalid --alertmanager-ca-file "ca.pem"`, "add --alertmanager-url https://HOST:PORT"}},
		{"silence via proxy and URL", []string{"silence", "list", "team-a", "-n", "team-a", "--via-proxy", "--alertmanager-url", "http://localhost:9093"}, []string{"--via-proxy", "names Alertmanager directly"}},
		{"silence URL without scheme", []string{"silence", "list", "team-a", "-n", "team-a", "--alertmanager-url", "localhost:9093"}, []string{`invalid --alertmanager-url "localhost:9093"`, "http or https URL"}},
		{"silence state", []string{"silence", "list", "team-a", "-n", "team-a", "--state", "muted"}, []string{`invalid --state "muted"`, "active+pending"}},
		{"silence expire bad ID", []string{"silence", "expire", "team-a", "-n", "team-a", "../x"}, []string{`silence ID "../x" is not one`}},
		{"silence expire without ID", []string{"silence", "expire", "team-a"}, []string{"needs a team name and at least one silence ID"}},
		{"silence bad team", []string{"silence", "list", "Team_A"}, []string{`invalid team name "Team_A"`}},
		{"every team and one", []string{"top", "-A", "team-a"}, []string{`invalid --all-namespaces "true"`, "drop the team name team-a"}},
		{"every team by URL", []string{"top", "-A", "--prometheus-url", "http://localhost:9090"}, []string{`invalid --all-namespaces "true"`, "drop --prometheus-url and --demo"}},
		{"every team with offsets", []string{"top", "-A", "--offsets", "1h"}, []string{`invalid --offsets "1h"`, "drop it with -A/--teams"}},
		{"every team by route", []string{"top", "-A", "--group-by", "route"}, []string{`invalid --group-by "route"`}},
		{"teams bad name", []string{"top", "--teams", "team-a,Bad_Name"}, []string{`invalid --teams "team-a,Bad_Name"`, `"Bad_Name"`}},
		{"teams bad namespace", []string{"top", "--teams", "Bad_NS/team-a"}, []string{`invalid --teams "Bad_NS/team-a"`}},
		{"teams empty item", []string{"top", "--teams", "team-a,,team-b"}, []string{`invalid --teams "team-a,,team-b"`}},
		{"concurrency zero", []string{"top", "-A", "--concurrency", "0"}, []string{`invalid --concurrency "0"`, "1 to 64"}},
		{"every team sorted by p50", []string{"top", "-A", "--sort-by", "p50"}, []string{`invalid --sort-by "p50"`, "name, rps, success, p99, alerts, series"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append(cmd.Environ(), "KUBECONFIG="+filepath.Join(t.TempDir(), "none"))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			want := 1
			switch tt.args[0] {
			case "compare":
				want = compareErrorExit
			case "diff":
				want = diffErrorExit
			case "doctor", "why":
				want = doctorErrorExit
			case "alerts":
				if tt.args[1] == "test" {
					want = alertsTestErrorExit
				}
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != want {
				t.Fatalf("exit: %v, want exit code %d; stderr %q", err, want, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty: %q", stdout.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "error: ") {
				t.Errorf("stderr is not one error line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine") {
				t.Errorf("stack trace: %q", msg)
			}
		})
	}
}

func TestVersionIsStampedAtBuildTime(t *testing.T) {
	out, err := exec.Command(binary(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "kubectl-promteam v9.8.7 (commit abc1234, built 2026-11-26T00:00:00Z, go1.") {
		t.Errorf("version = %q", out)
	}
	out, err = exec.Command(binary(t), "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var b BuildInfo
	if err := yaml.Unmarshal(out, &b); err != nil || b.Version != "v9.8.7" || b.Commit != "abc1234" {
		t.Errorf("version -o json = %s (%v)", out, err)
	}
}

// FuzzCreateFlags feeds arbitrary values to the flags that take free text: the command either
// prints a stack that parses, or fails with one line and prints nothing. It never panics.
func FuzzCreateFlags(f *testing.F) {
	seeds := [][]string{
		{"team-a", "15d", "16Gi", "20Gi", "2", "100m", "512Mi", "cluster=prod", "https://m.example.com/w", "99.9", "envoy", "app=envoy", "30s", "team-a", "auth", ""},
		{"Team_A", "15 days", "16G", "big", "x", "lots", "-1", "=", "ftp://", "100", "nginx", "app in", "0s", "a/b", "a/b", "rw"},
		{"a", "1y2w3d4h5m6s7ms", "1.5Ti", "0", "1", "1", "1Gi", "__x=y", "http://[::1]:9/w", "93.07", "none", "!app", "75s", "..", "", "rw/token"},
		{strings.Repeat("t", 63), "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15])
	}
	f.Fuzz(func(t *testing.T, team, retention, retentionSize, storage, replicas, cpu, memory, label, remote, slo, envoy, selector, interval, tenant, basicAuth, bearer string) {
		args := []string{"create", team, "-n", "team-a",
			"--retention=" + retention, "--storage=" + storage, "--replicas=" + replicas, "--cpu=" + cpu,
			"--memory=" + memory, "--memory-limit=0", "--envoy=" + envoy, "--envoy-scrape-interval=" + interval}
		for flag, v := range map[string]string{"--retention-size=": retentionSize, "--external-label=": label,
			"--remote-write=": remote, "--slo=": slo, "--envoy-selector=": selector,
			"--remote-write-tenant=": tenant, "--remote-write-basic-auth=": basicAuth, "--remote-write-bearer=": bearer} {
			if v != "" {
				args = append(args, flag+v)
			}
		}
		out, _, err := run(t, args...)
		if err != nil {
			if out != "" {
				t.Fatalf("error %q but stdout %q", err, out)
			}
			if strings.Contains(err.Error(), "\n") && !strings.ContainsAny(strings.Join(args, ""), "\n\r") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		for i, doc := range strings.Split(out, "\n---\n") {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil || m["kind"] == nil {
				t.Fatalf("document %d of %v does not parse: %v", i, args, err)
			}
		}
	})
}
