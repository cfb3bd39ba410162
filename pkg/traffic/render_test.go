package traffic

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// hostile are names a broken or hostile Prometheus may answer: escape sequences that clear the
// screen and colour text, a CR/LF that forges a row, bidi overrides, other controls, bad UTF-8.
var hostile = []string{
	"\x1b[2J\x1b[H\x1b[31mshop_checkout_8080",
	"evil\r\nshop_fake_8080  fake  999.0  100.00%  1ms  1ms  1ms",
	"bell\a\x7f\x00\t\v\f\b",
	"\u202egnp.exe\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069",
	"c1\u0085\u009b31m",
	"bad\xff\xfeutf8",
}

func hostileFrame() Frame {
	f := Frame{Window: time.Minute}
	for i, name := range hostile {
		f.Rows = append(f.Rows, Row{Name: name, Namespace: name, Service: name, RPS: float64(i), Success: 1, P50: 1, P90: 2, P99: 3, Active: 1})
		f.Listeners = append(f.Listeners, Listener{Prefix: name, RPS: 1, Success: 1, P99: 3})
	}
	return f
}

func TestRenderTableShowsHostileNamesAsText(t *testing.T) {
	f := hostileFrame()
	for _, wide := range []bool{false, true} {
		var b bytes.Buffer
		if err := RenderTable(&b, f, TableOptions{Wide: wide}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for i := 0; i < len(out); i++ {
			if c := out[i]; (c < 0x20 && c != '\n') || c == 0x7f {
				t.Errorf("wide=%v: byte %#x at %d in the table:\n%q", wide, c, i, out)
			}
		}
		for _, bad := range []string{"\u202e", "\u2066", "\u0085", "\u009b", "\xff"} {
			if strings.Contains(out, bad) {
				t.Errorf("wide=%v: %q reached the table", wide, bad)
			}
		}
		// A header and one line per row; wide adds a blank line, the listener header and one
		// line per listener.
		want := 1 + len(f.Rows)
		if wide {
			want += 2 + len(f.Listeners)
		}
		if n := strings.Count(out, "\n"); n != want {
			t.Errorf("wide=%v: %d lines, want %d:\n%s", wide, n, want, out)
		}
		if !strings.Contains(out, `\x1b[2J\x1b[H\x1b[31mshop_checkout_8080`) || !strings.Contains(out, `evil\r\nshop_fake_8080`) {
			t.Errorf("wide=%v: the names are not shown as escapes:\n%s", wide, out)
		}
	}
}

func TestRenderJSONEscapesHostileNames(t *testing.T) {
	f := hostileFrame()
	var b bytes.Buffer
	if err := RenderJSON(&b, f); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Rows []struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	for i, r := range out.Rows {
		// JSON carries the names exactly; each byte of bad UTF-8 becomes U+FFFD, as encoding/json
		// does.
		want := string([]rune(hostile[i]))
		if r.Name != want || r.Namespace != want {
			t.Errorf("row %d: name %q, namespace %q; want %q", i, r.Name, r.Namespace, want)
		}
	}
	// encoding/json escapes C0 controls; the rest is data, carried as it is.
	for _, c := range b.Bytes() {
		if c < 0x20 && c != '\n' {
			t.Errorf("raw control byte %#x in JSON:\n%q", c, b.String())
			break
		}
	}
}

// TestRenderJSONBackend: the JSON says which backend answered, "prometheus" unless the reader
// set another.
func TestRenderJSONBackend(t *testing.T) {
	for backend, want := range map[string]string{"": `"backend": "prometheus"`, BackendPrometheus: `"backend": "prometheus"`, BackendThanosQuery: `"backend": "thanos-query"`} {
		var buf bytes.Buffer
		if err := RenderJSON(&buf, Frame{Window: time.Minute, Backend: backend}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("backend %q: JSON lacks %s:\n%s", backend, want, buf.String())
		}
	}
}
