package hostile

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// TestCasesAreDocumented: every case has a unique name, a documented outcome and an answer; a
// failing one says what its error holds, a succeeding one which names its rows hold.
func TestCasesAreDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if c.Name == "" || seen[c.Name] || c.Want == "" || c.serve == nil {
			t.Errorf("case %q: a name seen before, or no outcome or answer", c.Name)
		}
		seen[c.Name] = true
		for _, o := range []Outcome{c.Top, c.Compare} {
			if o.Fails() == (len(c.Names) > 0) {
				t.Errorf("case %q: fails %v with %d names", c.Name, o.Fails(), len(c.Names))
			}
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
