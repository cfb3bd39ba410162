package traffic

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/promql"
)

func TestParseFilter(t *testing.T) {
	r := Row{Name: "shop/Cart/80/abc", Namespace: "shop", Service: "Cart"}
	tests := []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"cart", true},
		{"CART", true},
		{"shop/cart", true},
		{"  cart ", true},
		{"nope", false},
		{"!cart", false},
		{"!nope", true},
		{"!", true},
	}
	for _, tt := range tests {
		if got := ParseFilter(tt.filter).Match(&r); got != tt.want {
			t.Errorf("filter %q matches = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

// TestFilterNamesNamespaceAndService: a filter "namespace/service" finds the rows of that
// service, as the table prints it, when the cluster name spells it otherwise (Istio's
// outbound|port||svc.ns.svc.cluster.local), and never across the name and the service.
func TestFilterNamesNamespaceAndService(t *testing.T) {
	rows := []Row{
		{Name: "outbound|8080||checkout.shop.svc.cluster.local", Namespace: "shop", Service: "checkout"},
		{Name: "outbound|8080||cart.shop.svc.cluster.local", Namespace: "shop", Service: "cart"},
		{Name: "xds_cluster"},
		{Name: "edge_shop", Namespace: "", Service: "checkout"},
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"shop/checkout", []string{rows[0].Name}},
		{"SHOP/", []string{rows[0].Name, rows[1].Name}},
		{"!shop/checkout", []string{rows[1].Name, rows[2].Name, rows[3].Name}},
		{"shopcheckout", nil},
		{"xds", []string{"xds_cluster"}},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range FilterRows(rows, ParseFilter(tt.filter)) {
			got = append(got, r.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %q kept %q, want %q", tt.filter, got, tt.want)
		}
	}
}

// TestSortIndicesServiceOrder: services sort by namespace, then service, so "a" comes before
// "a-b" whatever the separator sorts as; rows without a service come last either way.
func TestSortIndicesServiceOrder(t *testing.T) {
	rows := []Row{
		{Name: "3", Namespace: "a-b", Service: "x"},
		{Name: "1"},
		{Name: "2", Namespace: "a", Service: "y"},
	}
	for _, tt := range []struct {
		desc bool
		want []int
	}{{false, []int{2, 0, 1}}, {true, []int{0, 2, 1}}} {
		idx := []int{0, 1, 2}
		SortIndices(idx, rows, SortService, tt.desc)
		if !slices.Equal(idx, tt.want) {
			t.Errorf("desc=%v: order %v, want %v", tt.desc, idx, tt.want)
		}
	}
}

// TestInServiceNamespace: the rows of one service namespace stay; none is an error that says
// what was selected and which namespaces have rows, shown safely on a terminal.
func TestInServiceNamespace(t *testing.T) {
	f := Frame{Rows: []Row{
		{Name: "a", Namespace: "shop", Service: "cart"},
		{Name: "b", Namespace: "auth", Service: "tokens"},
		{Name: "c", Namespace: "evil\x1b[2J", Service: "x"},
		{Name: "d", Namespace: "shop", Service: "checkout"},
		{Name: "xds_cluster"},
	}}
	got, err := InServiceNamespace(f, "shop")
	if err != nil || len(got.Rows) != 2 || got.Rows[0].Name != "a" || got.Rows[1].Name != "d" {
		t.Errorf("InServiceNamespace(shop) = %v, %v", got.Rows, err)
	}
	_, err = InServiceNamespace(f, "edge")
	var empty *EmptySelectionError
	if !errors.As(err, &empty) {
		t.Fatalf("InServiceNamespace(edge) = %v, want an EmptySelectionError", err)
	}
	want := `no rows in service namespace "edge"; namespaces with traffic: auth, evil\x1b[2J, shop`
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if errors.Is(err, errNoClusterStats) {
		t.Error("an empty service namespace reads as no Envoy statistics at all")
	}
}

// TestDiscoverNamesTheEnvoyNamespaces: Envoys selected by a namespace that has none: the error
// says which namespace was selected and which have Envoys.
func TestDiscoverNamesTheEnvoyNamespaces(t *testing.T) {
	fq := &fakeQuerier{answers: func(q string) Vector {
		if q == "count by (namespace) (envoy_cluster_upstream_rq_total)" {
			return Vector{sample(map[string]string{"namespace": "edge"}, 3), sample(map[string]string{"namespace": "gw\u202e"}, 1)}
		}
		return nil
	}}
	_, err := Discover(context.Background(), fq, promql.Namespace("shop"), time.Unix(0, 0))
	want := `no Envoy cluster statistics from Envoys in namespace "shop"; Envoys report from namespaces: edge, gw\u202e`
	if err == nil || err.Error() != want {
		t.Errorf("Discover = %v, want %q", err, want)
	}
	if !errors.Is(err, errNoClusterStats) {
		t.Error("an empty Envoy namespace is not an absence of Envoy statistics")
	}
	fq = &fakeQuerier{answers: func(string) Vector { return nil }}
	_, err = Discover(context.Background(), fq, promql.Namespace("shop"), time.Unix(0, 0))
	if err == nil || !strings.Contains(err.Error(), `namespace "shop"`) || !strings.Contains(err.Error(), "targets up") {
		t.Errorf("Discover with no Envoys anywhere = %v", err)
	}
}
