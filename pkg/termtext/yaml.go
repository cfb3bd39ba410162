package termtext

import (
	"encoding/json"

	"sigs.k8s.io/yaml"
)

// YAML turns a JSON document into YAML whose keys and strings hold nothing a terminal would act
// on: each goes through Lines, so a hostile label value shows as a visible escape and a message
// of several lines keeps them. Unlike JSON it does not keep every value exact, since YAML has no
// escape for a printable bidirectional control; a reader that needs the exact bytes asks for JSON.
func YAML(jsonDoc []byte) ([]byte, error) {
	var doc any
	if err := json.Unmarshal(jsonDoc, &doc); err != nil {
		return nil, err
	}
	return yaml.Marshal(linesIn(doc))
}

// linesIn returns v with every key and string made safe by Lines.
func linesIn(v any) any {
	switch v := v.(type) {
	case string:
		return Lines(v)
	case []any:
		for i := range v {
			v[i] = linesIn(v[i])
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[Lines(k)] = linesIn(e)
		}
		return out
	}
	return v
}
