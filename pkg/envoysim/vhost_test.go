package envoysim

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// TestVirtualHostStatistics: a virtual cluster's and a route's statistics, as Prometheus' parser
// reads them, count exactly the requests of their clusters in each pod, with Envoy's families,
// types and tags; Istio's dialect has none; the protobuf exposition's latency histograms of a
// virtual cluster count what the text's do.
func TestVirtualHostStatistics(t *testing.T) {
	f := VirtualHostsFleet(t0)
	at := t0.Add(time.Hour)
	for _, pod := range f.Pods {
		p := exposeParsed(t, f, pod, at, Stock)
		for name, typ := range map[string]model.MetricType{
			"envoy_vhost_vcluster_upstream_rq":         model.MetricTypeCounter,
			"envoy_vhost_vcluster_upstream_rq_xx":      model.MetricTypeCounter,
			"envoy_vhost_vcluster_upstream_rq_total":   model.MetricTypeCounter,
			"envoy_vhost_vcluster_upstream_rq_timeout": model.MetricTypeCounter,
			"envoy_vhost_vcluster_upstream_rq_retry":   model.MetricTypeCounter,
			"envoy_vhost_vcluster_upstream_rq_time":    model.MetricTypeHistogram,
			"envoy_vhost_route_upstream_rq_total":      model.MetricTypeCounter,
			"envoy_vhost_route_upstream_rq_time":       model.MetricTypeHistogram,
		} {
			if got := p.types[name]; got != typ {
				t.Errorf("TYPE of %s = %q, want %q", name, got, typ)
			}
		}
		for group, members := range VirtualHostGroups() {
			kind, label, name := strings.Split(group, ".")[2], "envoy_virtual_cluster", strings.Split(group, ".")[3]
			if kind == "route" {
				label = "envoy_route"
			}
			for _, stat := range []string{"upstream_rq_total", "upstream_rq_time_count", "upstream_rq_timeout"} {
				var want float64
				for _, m := range members {
					want += p.mustValue(t, "envoy_cluster_"+stat, "envoy_cluster_name", m)
				}
				got := p.mustValue(t, "envoy_vhost_"+kind+"_"+stat, label, name, "envoy_virtual_host", "shop")
				if got != want || want == 0 && stat == "upstream_rq_total" {
					t.Errorf("%s %s: %s = %v, its clusters' sum %v", pod, group, stat, got, want)
				}
			}
			var codes, classes float64
			for _, s := range p.samples {
				if s.lbls.Get(label) != name {
					continue
				}
				switch s.lbls.Get(model.MetricNameLabel) {
				case "envoy_vhost_" + kind + "_upstream_rq":
					codes += s.v
				case "envoy_vhost_" + kind + "_upstream_rq_xx":
					classes += s.v
				}
			}
			if total := p.mustValue(t, "envoy_vhost_"+kind+"_upstream_rq_total", label, name, "envoy_virtual_host", "shop"); codes > total || classes != codes {
				t.Errorf("%s %s: %v by code, %v by class, %v in all", pod, group, codes, classes, total)
			}
		}
		for _, s := range p.samples {
			if s.lbls.Get("envoy_cluster_name") == "" && s.lbls.Get("envoy_virtual_host") == "" && strings.HasPrefix(s.lbls.Get(model.MetricNameLabel), "envoy_vhost_") {
				t.Errorf("%s: series without a virtual host", s.lbls)
			}
		}
	}
	if istio := exposeParsed(t, f, "envoy-0", at, Istio); len(istio.types) == 0 || hasPrefix(istio.types, "envoy_vhost_") {
		t.Errorf("Istio's dialect has virtual host statistics or nothing: %d families", len(istio.types))
	}

	var buf bytes.Buffer
	if err := f.Protobuf(&buf, "envoy-0", at, Stock); err != nil {
		t.Fatal(err)
	}
	text := exposeParsed(t, f, "envoy-0", at, Stock)
	fams := decodeProtobuf(t, buf.Bytes())
	for _, m := range fams["envoy_vhost_vcluster_upstream_rq_time"].GetMetric() {
		var vc string
		for _, l := range m.GetLabel() {
			if l.GetName() == "envoy_virtual_cluster" {
				vc = l.GetValue()
			}
		}
		h := m.GetHistogram()
		want := text.mustValue(t, "envoy_vhost_vcluster_upstream_rq_time_count", "envoy_virtual_cluster", vc, "envoy_virtual_host", "shop")
		if h.GetSchema() != NativeSchema || float64(h.GetSampleCount()) > want || float64(h.GetSampleCount()) < want-float64(len(h.GetPositiveDelta())+1) {
			t.Errorf("native histogram of %s: schema %d, count %d, text %v", vc, h.GetSchema(), h.GetSampleCount(), want)
		}
	}
	if len(fams["envoy_vhost_vcluster_upstream_rq_time"].GetMetric()) != 2 {
		t.Errorf("protobuf: %d virtual cluster histograms, want 2", len(fams["envoy_vhost_vcluster_upstream_rq_time"].GetMetric()))
	}
}

func hasPrefix(types map[string]model.MetricType, prefix string) bool {
	for name := range types {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

func TestValidateVirtualHosts(t *testing.T) {
	for _, c := range []Cluster{
		{Name: "a", VirtualCluster: "x"},
		{Name: "a", VirtualHost: "h"},
		{Name: "a", VirtualHost: "h", VirtualCluster: "x", RouteStat: "r"},
		{Name: "a", VirtualHost: "h.example.com", VirtualCluster: "x"},
	} {
		f := &Fleet{Start: t0, Clusters: []Cluster{c}}
		if err := f.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
