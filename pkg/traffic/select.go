package traffic

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
	"github.com/kubectl-promteam/kubectl-promteam/pkg/termtext"
)

// What an EmptySelectionError selected.
const (
	// SelectServiceNamespace is the namespace of the upstream services: a row's Namespace, the
	// table's NAMESPACE column (top's --service-namespace).
	SelectServiceNamespace = "service namespace"
	// SelectEnvoyNamespace is the namespace of the Envoy pods that report the traffic, their
	// series' namespace label (--envoy-namespace).
	SelectEnvoyNamespace = "Envoy namespace"
)

// EmptySelectionError is a selection that kept nothing: it says what was selected and what
// there is to select.
type EmptySelectionError struct {
	// Kind is SelectServiceNamespace or SelectEnvoyNamespace.
	Kind string
	// Selected is the namespace selected.
	Selected string
	// Have are the namespaces there are, sorted: those of the rows for a service namespace,
	// those Envoys report from for an Envoy namespace.
	Have []string
}

func (e *EmptySelectionError) Error() string {
	have := make([]string, len(e.Have))
	for i, ns := range e.Have {
		have[i] = termtext.Sanitize(ns)
	}
	var msg string
	switch e.Kind {
	case SelectEnvoyNamespace:
		msg = fmt.Sprintf("no Envoy cluster statistics from Envoys in namespace %q", e.Selected)
		if len(have) == 0 {
			msg += "; Prometheus holds none from any namespace yet: check that the Envoy monitors have targets up"
		} else {
			msg += "; Envoys report from namespaces: " + strings.Join(have, ", ")
		}
	default:
		msg = fmt.Sprintf("no rows in %s %q", e.Kind, e.Selected)
		if len(have) == 0 {
			msg += "; no row has a known namespace (see --naming)"
		} else {
			msg += "; namespaces with traffic: " + strings.Join(have, ", ")
		}
	}
	return termtext.Sanitize(msg)
}

// Unwrap makes an empty Envoy namespace an absence of Envoy statistics, as Discover reports it.
func (e *EmptySelectionError) Unwrap() error {
	if e.Kind == SelectEnvoyNamespace {
		return errNoClusterStats
	}
	return nil
}

// InServiceNamespace keeps the rows of f whose service is in namespace ns; when none is, the
// error is an *EmptySelectionError listing the namespaces the rows have. The listener rows are
// the Envoys' own and stay.
func InServiceNamespace(f Frame, ns string) (Frame, error) {
	var kept []Row
	var have []string
	for _, r := range f.Rows {
		if r.Namespace == ns {
			kept = append(kept, r)
		} else if r.Namespace != "" && !slices.Contains(have, r.Namespace) {
			have = append(have, r.Namespace)
		}
	}
	if len(kept) == 0 {
		slices.Sort(have)
		return f, &EmptySelectionError{Kind: SelectServiceNamespace, Selected: ns, Have: have}
	}
	f.Rows = kept
	return f, nil
}

// envoyNamespaces lists the namespaces Envoys report cluster statistics from.
func envoyNamespaces(ctx context.Context, q Querier, at time.Time) ([]string, error) {
	text, err := promql.Check(promql.EnvoyNamespaces())
	if err != nil {
		return nil, err
	}
	res, err := q.Query(ctx, text, at)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range res.Vector {
		if ns := s.Metric.Get(promql.LabelNamespace); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out, nil
}
