package termtext

import (
	"testing"
	"unicode"

	"sigs.k8s.io/yaml"
)

func TestYAMLShowsControlsAsEscapes(t *testing.T) {
	doc := []byte(`{"items":[{"name":"a\u001b[2Jb","note":"one\ntwo"}],"bidi\u202ekey":"x\u009by","n":3,"ok":true}`)
	out, err := YAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range string(out) {
		if r != '\n' && (r < 0x20 || !unicode.IsGraphic(r) && r != ' ') {
			t.Errorf("%U left in\n%s", r, out)
		}
	}
	var back map[string]any
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("%s does not parse: %v", out, err)
	}
	item := back["items"].([]any)[0].(map[string]any)
	if got, want := item["name"], `a\x1b[2Jb`; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	if got := item["note"]; got != "one\ntwo" {
		t.Errorf("a line feed was not kept: %q", got)
	}
	if _, ok := back[`bidi\u202ekey`]; !ok {
		t.Errorf("key not escaped: %v", back)
	}
	if back["n"] != float64(3) || back["ok"] != true {
		t.Errorf("numbers and booleans changed: %v", back)
	}
	if _, err := YAML([]byte("{")); err == nil {
		t.Error("truncated JSON gave no error")
	}
}
