package prom

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestLabelCacheGenerations fills the cache past one generation: the newest label sets stay,
// one from the older generation is found and kept, the oldest are forgotten, and a nil cache
// finds nothing.
func TestLabelCacheGenerations(t *testing.T) {
	c := newLabelCache()
	text := func(i int) string { return fmt.Sprintf(`{"envoy_cluster_name":"c%d"}`, i) }
	set := func(i int) labels.Labels { return labels.FromStrings("envoy_cluster_name", fmt.Sprintf("c%d", i)) }
	for i := range labelCacheSize {
		c.put(text(i), set(i))
	}
	// The generation is full: the next one starts a new generation.
	c.put(text(labelCacheSize), set(labelCacheSize))
	for _, i := range []int{0, labelCacheSize - 1, labelCacheSize} {
		if ls, ok := c.get([]byte(text(i))); !ok || !labels.Equal(ls, set(i)) {
			t.Errorf("label set %d: %v, %v", i, ls, ok)
		}
	}
	if _, ok := c.get([]byte(`{"envoy_cluster_name":"unknown"}`)); ok {
		t.Error("found a label set never kept")
	}
	// Another full generation forgets the first, but for the one found (and so kept) above.
	for i := range labelCacheSize {
		c.put(text(2*labelCacheSize+i), set(2*labelCacheSize+i))
	}
	if _, ok := c.get([]byte(text(1))); ok {
		t.Error("label set 1 survived two generations")
	}
	if ls, ok := c.get([]byte(text(0))); !ok || !labels.Equal(ls, set(0)) {
		t.Errorf("label set 0, found again in the last generation: %v, %v", ls, ok)
	}

	var none *labelCache
	none.put(text(0), set(0))
	if _, ok := none.get([]byte(text(0))); ok {
		t.Error("a nil cache found a label set")
	}
}
