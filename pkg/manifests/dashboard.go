package manifests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

// The label Grafana's dashboard sidecar (kube-prometheus-stack, the Grafana Helm chart) watches
// for by default.
const (
	GrafanaDashboardLabel = "grafana_dashboard"
	grafanaDashboardValue = "1"
)

// The Grafana dashboard JSON model, as much of it as the dashboard uses.
type dashboard struct {
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	Tags          []string   `json:"tags"`
	Timezone      string     `json:"timezone"`
	SchemaVersion int        `json:"schemaVersion"`
	Refresh       string     `json:"refresh"`
	Time          timeRange  `json:"time"`
	Templating    templating `json:"templating"`
	Panels        []panel    `json:"panels"`
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type templating struct {
	List []variable `json:"list"`
}

type variable struct {
	Name       string      `json:"name"`
	Label      string      `json:"label"`
	Type       string      `json:"type"`
	Query      any         `json:"query"`
	Datasource *datasource `json:"datasource,omitempty"`
	Refresh    int         `json:"refresh,omitempty"`
	IncludeAll bool        `json:"includeAll,omitempty"`
	Multi      bool        `json:"multi,omitempty"`
	AllValue   string      `json:"allValue,omitempty"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	GridPos     gridPos     `json:"gridPos"`
	Datasource  datasource  `json:"datasource"`
	FieldConfig fieldConfig `json:"fieldConfig"`
	Targets     []target    `json:"targets"`
}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type fieldConfig struct {
	Defaults fieldDefaults `json:"defaults"`
}

type fieldDefaults struct {
	Unit string   `json:"unit"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

type target struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat"`
}

func (s TeamSpec) dashboardName() string { return s.Team + "-grafana-dashboard" }

// dashboardUID is stable for a team in a namespace and within Grafana's 40-character limit.
func (s TeamSpec) dashboardUID() string {
	sum := sha256.Sum256([]byte(s.Namespace + "/" + s.Team))
	return "promteam-" + hex.EncodeToString(sum[:8])
}

// dashboardSelection narrows a recorded series to the dashboard's namespace and cluster
// variables. The values are Grafana variables, interpolated by Grafana as regular expressions.
func dashboardSelection(record string) *parser.VectorSelector {
	return promql.Series(record, dashboardMatchers()...)
}

func dashboardMatchers() []*labels.Matcher {
	ns, _ := labels.NewMatcher(labels.MatchRegexp, promql.LabelNamespace, "$namespace")
	cluster, _ := labels.NewMatcher(labels.MatchRegexp, promql.LabelCluster, "$cluster")
	return []*labels.Matcher{ns, cluster}
}

func (s TeamSpec) grafanaDashboard() (*corev1.ConfigMap, error) {
	by := []string{promql.LabelNamespace, promql.LabelCluster}
	sum := func(record string) parser.Expr { return promql.SumBy(dashboardSelection(record), by...) }
	// Ratios and quantiles are derived from the recorded sums, summed first: with --shards
	// each shard records its own part of a cluster's traffic, which only sums merge.
	quantile := func(q float64) parser.Expr {
		return promql.LatencyQuantileFromBuckets(s.sources(), q, dashboardMatchers()...)
	}
	legend := "{{envoy_cluster_name}} ({{namespace}})"
	zero, one := 0.0, 1.0
	ds := datasource{Type: "prometheus", UID: "${datasource}"}

	type query struct {
		expr   parser.Expr
		legend string
	}
	type panelSpec struct {
		title, description, unit string
		min, max                 *float64
		queries                  []query
	}
	specs := []panelSpec{
		{"Requests per second", "Upstream requests per second, by Envoy cluster.", "reqps", &zero, nil,
			[]query{{sum(promql.RecordRequestRate), legend}}},
		{"Success rate", "Share of final upstream responses that were not 5xx.", "percentunit", &zero, &one,
			[]query{{promql.Div(sum(promql.RecordNot5xxRate), sum(promql.RecordResponseRate)), legend}}},
		{"5xx responses per second", "Final upstream 5xx responses, including timeouts and resets Envoy answered itself.", "reqps", &zero, nil,
			[]query{{sum(promql.Record5xxRate), legend}}},
		{"Latency p99", "99th percentile of upstream request time.", "s", &zero, nil,
			[]query{{quantile(0.99), legend}}},
		{"Latency p90", "90th percentile of upstream request time.", "s", &zero, nil,
			[]query{{quantile(0.9), legend}}},
		{"Latency p50", "Median upstream request time.", "s", &zero, nil,
			[]query{{quantile(0.5), legend}}},
	}
	if promql.ActiveRequests(s.sources()) != nil {
		specs = append(specs, panelSpec{"Active requests", "Upstream requests in flight.", "short", &zero, nil, []query{{sum(promql.RecordActiveRequests), legend}}})
	}

	d := dashboard{
		UID:           s.dashboardUID(),
		Title:         "Envoy traffic: " + s.Team,
		Tags:          []string{"envoy", "promteam", s.Team},
		Timezone:      "browser",
		SchemaVersion: 39,
		Refresh:       "30s",
		Time:          timeRange{From: "now-1h", To: "now"},
		Templating: templating{List: []variable{
			{Name: "datasource", Label: "Prometheus", Type: "datasource", Query: "prometheus"},
			{Name: "namespace", Label: "Namespace", Type: "query", Datasource: &ds, Refresh: 2, IncludeAll: true, Multi: true, AllValue: ".*",
				Query: map[string]string{"query": "label_values(" + promql.RecordRequestRate + ", namespace)", "refId": "namespace"}},
			{Name: "cluster", Label: "Upstream cluster", Type: "query", Datasource: &ds, Refresh: 2, IncludeAll: true, Multi: true, AllValue: ".*",
				Query: map[string]string{"query": "label_values(" + promql.RecordRequestRate + "{namespace=~\"$namespace\"}, envoy_cluster_name)", "refId": "cluster"}},
		}},
	}
	for i, p := range specs {
		out := panel{
			ID: i + 1, Type: "timeseries", Title: p.title, Description: p.description,
			GridPos:     gridPos{H: 8, W: 12, X: (i % 2) * 12, Y: (i / 2) * 8},
			Datasource:  ds,
			FieldConfig: fieldConfig{Defaults: fieldDefaults{Unit: p.unit, Min: p.min, Max: p.max}},
		}
		for j, q := range p.queries {
			text, err := promql.Check(q.expr)
			if err != nil {
				return nil, err
			}
			out.Targets = append(out.Targets, target{RefID: string(rune('A' + j)), Expr: text, LegendFormat: q.legend})
		}
		d.Panels = append(d.Panels, out)
	}
	body, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: s.meta(s.dashboardName(), s.Namespace,
			s.labels(GrafanaDashboardLabel, grafanaDashboardValue, "app.kubernetes.io/component", "grafana-dashboard")),
		Data: map[string]string{s.Team + "-envoy.json": string(body) + "\n"},
	}, nil
}
