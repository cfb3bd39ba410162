package doctor

import (
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// dropsMetric reports which of a monitor endpoint's metricRelabelings drops every series of
// metric, evaluated as Prometheus does on the series' name. Only the rules that read nothing but
// the name decide: a rule that reads other labels keeps or drops series by their values, which
// the name alone does not tell, so the evaluation stops there.
func dropsMetric(cfgs []monitoringv1.RelabelConfig, metric string) (int, bool) {
	lb := labels.NewBuilder(labels.FromStrings(model.MetricNameLabel, metric))
	for i, c := range cfgs {
		rc, ok := relabelConfig(c)
		if !ok {
			return 0, false
		}
		for _, l := range rc.SourceLabels {
			if l != model.MetricNameLabel {
				return 0, false
			}
		}
		if !relabel.ProcessBuilder(lb, rc) {
			return i, true
		}
	}
	return 0, false
}

// relabelConfig is c as Prometheus reads it, with the operator's defaults; false when it is
// not valid.
func relabelConfig(c monitoringv1.RelabelConfig) (*relabel.Config, bool) {
	rc := relabel.DefaultRelabelConfig
	rc.NameValidationScheme = model.UTF8Validation
	if c.Action != "" {
		rc.Action = relabel.Action(strings.ToLower(c.Action))
	}
	for _, l := range c.SourceLabels {
		rc.SourceLabels = append(rc.SourceLabels, model.LabelName(l))
	}
	if c.Separator != nil {
		rc.Separator = *c.Separator
	}
	if c.TargetLabel != "" {
		rc.TargetLabel = c.TargetLabel
	}
	if c.Regex != "" {
		re, err := relabel.NewRegexp(c.Regex)
		if err != nil {
			return nil, false
		}
		rc.Regex = re
	}
	if c.Modulus > 0 {
		rc.Modulus = uint64(c.Modulus)
	}
	if c.Replacement != nil {
		rc.Replacement = *c.Replacement
	}
	if err := rc.Validate(model.UTF8Validation); err != nil {
		return nil, false
	}
	return &rc, true
}

func actionOf(c monitoringv1.RelabelConfig) string {
	if c.Action == "" {
		return "replace"
	}
	return strings.ToLower(c.Action)
}

func sourceLabelsText(c monitoringv1.RelabelConfig) string {
	var names []string
	for _, l := range c.SourceLabels {
		names = append(names, string(l))
	}
	return "[" + strings.Join(names, ", ") + "]"
}
