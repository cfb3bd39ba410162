package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// Encoding the typed objects as they are would print fields that carry nothing: status blocks
// without omitempty, null creation timestamps, the empty metadata of a volume claim template.
// They are removed by path, never by dropping every empty map: serviceMonitorSelector: {} means
// "select all" and must survive.
var noise = [][]string{
	{"status"},
	{"metadata", "creationTimestamp"},
	{"spec", "template", "metadata", "creationTimestamp"},
	{"spec", "strategy"},
	{"spec", "storage", "volumeClaimTemplate", "metadata"},
	{"spec", "storage", "volumeClaimTemplate", "status"},
	{"spec", "namespaceSelector"},
	{"spec", "rules"},
}

// objectMap is an object as the JSON the API server would receive, with noise removed.
func objectMap(o Object) (map[string]any, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for _, path := range noise {
		removeIfEmpty(m, path)
	}
	return m, nil
}

// removeIfEmpty deletes the value at path when it is null, an empty map, or (for status) any
// map whose values are all zero.
func removeIfEmpty(m map[string]any, path []string) {
	for _, key := range path[:len(path)-1] {
		next, ok := m[key].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	last := path[len(path)-1]
	v, ok := m[last]
	if !ok {
		return
	}
	if isZero(v) {
		delete(m, last)
	}
}

func isZero(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, x := range t {
			if !isZero(x) {
				return false
			}
		}
		return true
	case []any:
		return len(t) == 0
	case bool:
		return !t
	case string:
		return t == ""
	case json.Number:
		return t.String() == "0"
	}
	return false
}

// Maps returns the stack's objects as generic maps, in order.
func (st Stack) Maps() ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(st.Objects))
	for _, o := range st.Objects {
		m, err := objectMap(o)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// WriteYAML writes the stack as a multi-document YAML stream, one document per object. Keys are
// sorted, so the same stack always gives the same bytes.
func (st Stack) WriteYAML(w io.Writer) error {
	maps, err := st.Maps()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for i, m := range maps {
		doc, err := yaml.Marshal(m)
		if err != nil {
			return err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// WriteJSON writes the stack as one v1 List, indented.
func (st Stack) WriteJSON(w io.Writer) error {
	maps, err := st.Maps()
	if err != nil {
		return err
	}
	items := make([]any, len(maps))
	for i, m := range maps {
		items[i] = m
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": items}
	out, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}
