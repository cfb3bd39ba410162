package traffic

import (
	"slices"
	"testing"
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
