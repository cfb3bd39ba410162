package plugin

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/manifests"
)

// TestDecideRoute: a stack whose Prometheus names an existing Thanos Query Service is reached
// through the Query; --direct, no annotation or no stack reach one Prometheus pod silently; a
// Prometheus the user may not read, or a Query Service that does not exist, reach one pod with
// one warning line saying numbers may be partial; another error is an error.
func TestDecideRoute(t *testing.T) {
	gr := schema.GroupResource{Group: "monitoring.coreos.com", Resource: "prometheuses"}
	forbidden := apierrors.NewForbidden(gr, "team-a", errors.New("no"))
	notFound := apierrors.NewNotFound(gr, "team-a")
	svcNotFound := apierrors.NewNotFound(schema.GroupResource{Resource: "services"}, "thanos-query-team-a")
	annotated := map[string]string{manifests.AnnotationThanosQuery: "thanos-query-team-a", "other": "x"}
	tests := []struct {
		name        string
		direct      bool
		annotations map[string]string
		getErr      error
		svcErr      error
		backend     string
		service     string
		warning     []string // substrings; nil means no warning
		err         bool
	}{
		{name: "annotated, Service exists", annotations: annotated, backend: "thanos-query", service: "thanos-query-team-a"},
		{name: "annotated, Service forbidden: the tunnel names the permission", annotations: annotated,
			svcErr: apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "thanos-query-team-a", errors.New("no")), backend: "thanos-query", service: "thanos-query-team-a"},
		{name: "direct", direct: true, annotations: annotated, backend: "prometheus"},
		{name: "direct, Prometheus forbidden", direct: true, getErr: forbidden, backend: "prometheus"},
		{name: "no annotation", annotations: map[string]string{"other": "x"}, backend: "prometheus"},
		{name: "no stack", getErr: notFound, backend: "prometheus"},
		{name: "Prometheus forbidden", getErr: forbidden, backend: "prometheus",
			warning: []string{"cannot read Prometheus team-a in namespace team-a (forbidden)", "querying one Prometheus pod", "if the stack is sharded, numbers may be partial"}},
		{name: "Query Service missing", annotations: annotated, svcErr: svcNotFound, backend: "prometheus",
			warning: []string{"Service team-a/thanos-query-team-a of the team's Thanos Query does not exist", "numbers may be partial"}},
		{name: "annotation not a Service name", annotations: map[string]string{manifests.AnnotationThanosQuery: "../x\n"}, backend: "prometheus",
			warning: []string{"names no valid Thanos Query Service", "numbers may be partial"}},
		{name: "other error", getErr: errors.New("connection refused"), err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decideRoute("team-a", "team-a", tc.direct, tc.annotations, tc.getErr, tc.svcErr)
			if tc.err {
				if err == nil {
					t.Fatalf("no error, route %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.backend != tc.backend || r.service != tc.service {
				t.Errorf("route %+v, want backend %s service %q", r, tc.backend, tc.service)
			}
			if tc.warning == nil && r.warning != "" {
				t.Errorf("warning %q, want none", r.warning)
			}
			for _, w := range tc.warning {
				if !strings.Contains(r.warning, w) {
					t.Errorf("warning %q lacks %q", r.warning, w)
				}
			}
			if strings.Contains(r.warning, "\n") {
				t.Errorf("warning is several lines: %q", r.warning)
			}
		})
	}
}

// TestRouteTunnel: a route to the Thanos Query forwards to its Service's http port and names it
// in a missing permission; a route to Prometheus leaves the tunnel to prometheus-TEAM.
func TestRouteTunnel(t *testing.T) {
	base := tunnelOptions{team: "team-a", namespace: "team-a"}
	q := route{backend: backendThanosQuery, service: "thanos-query-team-a"}.tunnel(base)
	if q.service != "thanos-query-team-a" || q.portName != "http" || !strings.Contains(q.purpose, "team team-a's Thanos Query") {
		t.Errorf("Thanos Query tunnel: %+v", q)
	}
	if p := (route{backend: backendPrometheus}).tunnel(base); p.service != "" || p.portName != "" || p.purpose != "" {
		t.Errorf("Prometheus tunnel: %+v", p)
	}
	if got := (route{backend: backendThanosQuery, service: "thanos-query-team-a"}).serviceName("team-a"); got != "thanos-query-team-a" {
		t.Errorf("service name %s", got)
	}
	if got := (route{backend: backendPrometheus}).serviceName("team-a"); got != "prometheus-team-a" {
		t.Errorf("service name %s", got)
	}
}

// TestDirectFlagValidation: --direct picks a pod in the cluster, so it refuses --prometheus-url
// and --demo, naming the flag.
func TestDirectFlagValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(p *PrometheusFlags)
		team string
		want string
	}{
		{"with a URL", func(p *PrometheusFlags) { p.URL = "http://localhost:9090" }, "team-a", `invalid --direct "true": --prometheus-url names the server to query`},
		{"with the demo", func(p *PrometheusFlags) { p.Demo = true }, "", `invalid --direct "true": --demo simulates its own Prometheus; drop --direct`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, _, _ := genericiooptions.NewTestIOStreams()
			p := NewPrometheusFlags(nil, streams)
			p.Direct = true
			tc.set(p)
			err := p.Validate(tc.team)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line starting %q", err, tc.want)
			}
		})
	}
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	p := NewPrometheusFlags(nil, streams)
	p.Direct = true
	if err := p.Validate("team-a"); err != nil {
		t.Errorf("--direct with a team: %v", err)
	}
}
