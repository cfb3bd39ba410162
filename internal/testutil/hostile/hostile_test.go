package hostile

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// TestCasesAreDocumented: every case has a unique name, a documented outcome and an answer; top
// fails exactly when the case answers no names, and compare then too.
func TestCasesAreDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if c.Name == "" || seen[c.Name] || c.Want == "" || c.serve == nil {
			t.Errorf("case %q: a name seen before, or no outcome or answer", c.Name)
		}
		seen[c.Name] = true
		if c.Top.Fails() == (len(c.Names) > 0) || len(c.Names) == 0 && !c.Compare.Fails() {
			t.Errorf("case %q: top fails %v, compare %v, with %d names", c.Name, c.Top.Fails(), c.Compare.Fails(), len(c.Names))
		}
	}
}

// TestGzipBomb: the bomb is small and inflates to far more than the plugin reads.
func TestGzipBomb(t *testing.T) {
	b := gzipBomb()
	if len(b) > 4*mib {
		t.Errorf("the bomb is %d bytes", len(b))
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil || n < 1<<30 {
		t.Errorf("inflated %d bytes: %v", n, err)
	}
}
