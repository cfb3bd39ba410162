package kube

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ObjectDiff is how applying would change one object.
type ObjectDiff struct {
	Ref Ref
	// Unified is a unified diff of the live object (empty when it does not exist) against the
	// object as applying would leave it, both as YAML, with kubectl diff's headers:
	// "--- live/prometheus.monitoring.coreos.com/team-a/team-a" and
	// "+++ merged/prometheus.monitoring.coreos.com/team-a/team-a".
	Unified string
	// Note is set when the API server could not compute the result (see ApplyResult.Note); the
	// object as given stands in for it.
	Note string
}

// diffNoise is metadata that changes on every write, or that the server adds, and that no
// apply sets: a diff would show it without meaning anything.
var diffNoise = []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"}

// Diff compares each object with what a server-side dry-run apply of it (with fieldManager,
// taking over conflicting fields as --force-conflicts would) says it would become, and returns
// the objects that would change, in order. Objects that would not change produce no ObjectDiff,
// so Diff is empty right after applying the same objects. Status is left out on both sides:
// apply never changes it.
func (c *Client) Diff(ctx context.Context, objs []*unstructured.Unstructured, fieldManager string) ([]ObjectDiff, error) {
	targets, err := c.resolve(objs)
	if err != nil {
		return nil, err
	}
	if fieldManager == "" {
		fieldManager = FieldManager
	}
	// Objects a dry run would create, as in Apply.
	pending := map[string]bool{}
	var out []ObjectDiff
	for _, t := range targets {
		live, err := c.getLive(ctx, t)
		if err != nil {
			return out, err
		}
		d := ObjectDiff{Ref: t.ref}
		merged, err := t.ri.Apply(ctx, t.ref.Name, t.obj, metav1.ApplyOptions{
			FieldManager: fieldManager, Force: true, DryRun: []string{metav1.DryRunAll},
		})
		if err != nil {
			if live != nil {
				return out, c.applyError(t, err)
			}
			if d.Note = dryRunGap(err, t, pending); d.Note == "" {
				return out, c.applyError(t, err)
			}
			merged = t.obj
		}
		if live == nil {
			pending[roleKey(t.ref.Kind, t.ref.Namespace, t.ref.Name)] = true
		}
		before, err := diffYAML(live)
		if err != nil {
			return out, err
		}
		after, err := diffYAML(merged)
		if err != nil {
			return out, err
		}
		if before == after {
			continue
		}
		d.Unified = unified("live/"+t.ref.path(), "merged/"+t.ref.path(), before, after)
		out = append(out, d)
	}
	return out, nil
}

// diffYAML is obj as YAML without noise, or "" for no object.
func diffYAML(obj *unstructured.Unstructured) (string, error) {
	if obj == nil {
		return "", nil
	}
	m := obj.DeepCopy().Object
	for _, f := range diffNoise {
		unstructured.RemoveNestedField(m, "metadata", f)
	}
	delete(m, "status")
	out, err := yaml.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", obj.GetName(), err)
	}
	return string(out), nil
}

// contextLines is how many unchanged lines surround each change, as in diff -u.
const contextLines = 3

// maxDiffCells bounds the table of the line diff; above it, the changed middle of the two texts
// is shown as removed and added whole, which is still a correct diff.
const maxDiffCells = 4 << 20

// op is one line of an edit script.
type op struct {
	kind byte // ' ', '-' or '+'
	line string
}

// unified is a unified diff of a and b with the given header names, as GNU diff -u prints it;
// "" when they are equal.
func unified(fromName, toName, a, b string) string {
	if a == b {
		return ""
	}
	ops := editScript(splitLines(a), splitLines(b))
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", fromName, toName)
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk starts contextLines before the change and ends when a run of more than
		// 2*contextLines unchanged lines (or the end) follows.
		start := max(0, i-contextLines)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*contextLines {
				end = min(end+contextLines, len(ops))
				break
			}
			end = run
		}
		aStart, bStart := lineNumbers(ops[:start])
		aLen, bLen := lineNumbers(ops[start:end])
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, o := range ops[start:end] {
			out.WriteByte(o.kind)
			out.WriteString(o.line)
			out.WriteByte('\n')
		}
		i = end
	}
	return out.String()
}

// lineNumbers counts the lines of a and of b that ops cover.
func lineNumbers(ops []op) (a, b int) {
	for _, o := range ops {
		if o.kind != '+' {
			a++
		}
		if o.kind != '-' {
			b++
		}
	}
	return a, b
}

// hunkRange is start,length of a hunk side whose first line follows `before` lines: GNU diff
// omits a length of 1 and names the line before an empty range.
func hunkRange(before, length int) string {
	switch length {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprintf("%d", before+1)
	}
	return fmt.Sprintf("%d,%d", before+1, length)
}

// splitLines splits s into lines without their newlines.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// editScript is a shortest edit script from a to b: the common prefix and suffix are kept and
// the middle is aligned by longest common subsequence.
func editScript(a, b []string) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []op
	for _, l := range a[:pre] {
		ops = append(ops, op{' ', l})
	}
	ops = append(ops, middle(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, op{' ', l})
	}
	return ops
}

// middle aligns a and b by longest common subsequence, removals before additions.
func middle(a, b []string) []op {
	n, m := len(a), len(b)
	var ops []op
	if n == 0 || m == 0 || (n+1)*(m+1) > maxDiffCells {
		for _, l := range a {
			ops = append(ops, op{'-', l})
		}
		for _, l := range b {
			ops = append(ops, op{'+', l})
		}
		return ops
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i++
			j++
		case j == m || (i < n && lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	return ops
}
