package prom

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"
)

// labelCacheSize bounds each of the cache's two generations: ample for the label sets one
// refresh reads (a few per cluster), small next to Prometheus' own memory.
const labelCacheSize = 1 << 15

// labelCache keeps the label sets of recent answers by their JSON text. A refresh's answers
// repeat the same clusters, and so do consecutive refreshes, so most label sets are looked up
// rather than built, as Prometheus' scrape cache does with series text. It holds two
// generations and drops the older when the newer fills. A nil cache finds nothing and keeps
// nothing. Safe for concurrent use.
type labelCache struct {
	mu       sync.RWMutex
	cur, old map[string]labels.Labels
}

func newLabelCache() *labelCache {
	return &labelCache{cur: map[string]labels.Labels{}}
}

// get finds the label set written as text.
func (c *labelCache) get(text []byte) (labels.Labels, bool) {
	if c == nil {
		return labels.EmptyLabels(), false
	}
	c.mu.RLock()
	ls, ok := c.cur[string(text)]
	inOld := false
	if !ok {
		ls, inOld = c.old[string(text)]
	}
	c.mu.RUnlock()
	if inOld {
		c.put(string(text), ls)
	}
	return ls, ok || inOld
}

// put keeps the label set written as text.
func (c *labelCache) put(text string, ls labels.Labels) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= labelCacheSize {
		c.old, c.cur = c.cur, make(map[string]labels.Labels, labelCacheSize/4)
	}
	c.cur[text] = ls
}
