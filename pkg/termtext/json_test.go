package termtext

import (
	"encoding/json"
	"testing"
	"unicode"
)

func TestJSON(t *testing.T) {
	values := []string{
		"plain",
		"\x1b[2J\x1b[31m\r\n\a\t",
		"del\x7f c1\u009b31m\u0085 bidi\u202e\u2066\u200f ls\u2028 tag\U000E0041",
		"ünïcödé ✓ — 日本 \U0001F600 \ufffd",
		"bad\xff\xfe",
	}
	for _, v := range values {
		raw, err := json.Marshal(map[string]string{"name": v})
		if err != nil {
			t.Fatal(err)
		}
		got := JSON(raw)
		for _, r := range string(got) {
			if r < 0x20 || !unicode.IsGraphic(r) && r != ' ' {
				t.Errorf("%q: %U left in %s", v, r, got)
			}
		}
		var back, want map[string]string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s does not decode: %v", v, got, err)
		}
		_ = json.Unmarshal(raw, &want)
		if back["name"] != want["name"] {
			t.Errorf("%q: decodes to %q, want %q", v, back["name"], want["name"])
		}
	}
	if in := []byte(`{"a": "ascii"}`); &JSON(in)[0] != &in[0] {
		t.Error("ASCII JSON was copied")
	}
}
