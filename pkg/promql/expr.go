// Package promql builds the PromQL expressions kubectl-promteam sends to Prometheus or writes into
// recording and alerting rules. Expressions are parser.Expr values, never spliced strings: label
// values are carried by label matchers, which quote and escape them when printed, and every
// expression can be checked by printing it and parsing it back.
package promql

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Eq matches series whose label name has exactly the given value.
func Eq(name, value string) *labels.Matcher { return mustMatcher(labels.MatchEqual, name, value) }

// Neq matches series whose label name does not have the given value.
func Neq(name, value string) *labels.Matcher { return mustMatcher(labels.MatchNotEqual, name, value) }

// Re matches series whose label name matches the regular expression re. Callers that hold a
// literal value from a user must pass it through regexp.QuoteMeta first; Re is for patterns the
// program itself owns.
func Re(name, re string) (*labels.Matcher, error) {
	return labels.NewMatcher(labels.MatchRegexp, name, re)
}

func mustMatcher(t labels.MatchType, name, value string) *labels.Matcher {
	m, err := labels.NewMatcher(t, name, value)
	if err != nil {
		// NewMatcher only fails for regular expressions, which these match types never compile.
		panic(fmt.Sprintf("promql: matcher %s%s%q: %v", name, t, value, err))
	}
	return m
}

// Series selects the instant vector of metric, narrowed by matchers.
func Series(metric string, matchers ...*labels.Matcher) *parser.VectorSelector {
	ms := make([]*labels.Matcher, 0, len(matchers)+1)
	ms = append(ms, matchers...)
	ms = append(ms, mustMatcher(labels.MatchEqual, model.MetricNameLabel, metric))
	return &parser.VectorSelector{Name: metric, LabelMatchers: ms}
}

// Rate is rate(vs[window]).
func Rate(vs *parser.VectorSelector, window time.Duration) parser.Expr {
	return call("rate", &parser.MatrixSelector{VectorSelector: vs, Range: window})
}

// Increase is increase(vs[window]).
func Increase(vs *parser.VectorSelector, window time.Duration) parser.Expr {
	return call("increase", &parser.MatrixSelector{VectorSelector: vs, Range: window})
}

// Count is count(e): how many series e has.
func Count(e parser.Expr) parser.Expr {
	return &parser.AggregateExpr{Op: parser.COUNT, Expr: e}
}

// SumBy is sum by (labels) (e).
func SumBy(e parser.Expr, by ...string) parser.Expr {
	return &parser.AggregateExpr{Op: parser.SUM, Expr: e, Grouping: append([]string(nil), by...)}
}

// HistogramQuantile is histogram_quantile(q, e).
func HistogramQuantile(q float64, e parser.Expr) parser.Expr {
	return call("histogram_quantile", Num(q), e)
}

// LabelReplace is label_replace(e, dst, replacement, src, regex).
func LabelReplace(e parser.Expr, dst, replacement, src, regex string) parser.Expr {
	return call("label_replace", e,
		&parser.StringLiteral{Val: dst}, &parser.StringLiteral{Val: replacement},
		&parser.StringLiteral{Val: src}, &parser.StringLiteral{Val: regex})
}

// Num is a number literal. Values are rounded to 12 significant digits so that arithmetic in Go
// (1 - 0.999) prints as the number a person would write (0.001).
func Num(v float64) parser.Expr {
	if !math.IsInf(v, 0) && !math.IsNaN(v) {
		v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	}
	return &parser.NumberLiteral{Val: v}
}

// Paren wraps e in parentheses.
func Paren(e parser.Expr) parser.Expr { return &parser.ParenExpr{Expr: e} }

// Div is a / b, matching on all labels.
func Div(a, b parser.Expr) parser.Expr { return binary(parser.DIV, a, b, nil) }

// Mul is a * b.
func Mul(a, b parser.Expr) parser.Expr { return binary(parser.MUL, a, b, nil) }

// Gt is the filtering comparison a > b.
func Gt(a, b parser.Expr) parser.Expr { return binary(parser.GTR, a, b, nil) }

// And is a and b; with on labels it is a and on (on...) b.
func And(a, b parser.Expr, on ...string) parser.Expr { return binary(parser.LAND, a, b, on) }

// Or is a or b.
func Or(a, b parser.Expr) parser.Expr { return binary(parser.LOR, a, b, nil) }

func binary(op parser.ItemType, a, b parser.Expr, on []string) parser.Expr {
	e := &parser.BinaryExpr{Op: op, LHS: a, RHS: b}
	vectors := a.Type() == parser.ValueTypeVector && b.Type() == parser.ValueTypeVector
	switch {
	case op == parser.LAND || op == parser.LOR || op == parser.LUNLESS:
		e.VectorMatching = &parser.VectorMatching{Card: parser.CardManyToMany, MatchingLabels: on, On: len(on) > 0}
	case vectors:
		e.VectorMatching = &parser.VectorMatching{Card: parser.CardOneToOne, MatchingLabels: on, On: len(on) > 0}
	}
	return e
}

func call(name string, args ...parser.Expr) parser.Expr {
	return &parser.Call{Func: parser.Functions[name], Args: args}
}

// Check prints e and parses the text back, failing if Prometheus would reject the text or read it
// as a different expression. Everything the program sends or writes passes through it in tests.
func Check(e parser.Expr) (string, error) {
	text := e.String()
	parsed, err := parser.NewParser(parser.Options{}).ParseExpr(text)
	if err != nil {
		return text, fmt.Errorf("expression %q does not parse: %w", text, err)
	}
	if again := parsed.String(); again != text {
		return text, fmt.Errorf("expression %q reads back as %q", text, again)
	}
	return text, nil
}

// MaxBy is max by (labels) (e).
func MaxBy(e parser.Expr, by ...string) parser.Expr {
	return &parser.AggregateExpr{Op: parser.MAX, Expr: e, Grouping: append([]string(nil), by...)}
}
