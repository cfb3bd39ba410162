package manifests

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Object is one typed object of a stack, with its TypeMeta set.
type Object interface {
	runtime.Object
	metav1.Object
}

// Stack is a team's objects in the order they should be applied: identity and permissions, the
// governing Service (the operator needs it before the StatefulSet), the Prometheus and what
// protects it, the team's Thanos Query, the statsd exporter, the monitors, the rules, the team's Alertmanager and alert
// routing, and the dashboard.
type Stack struct {
	Spec    TeamSpec
	Objects []Object
}

// Build validates s and builds its stack. The same spec always builds the same objects.
func Build(s TeamSpec) (Stack, error) {
	if err := s.Validate(); err != nil {
		return Stack{}, err
	}
	objs := []Object{s.serviceAccount()}
	objs = append(objs, s.rbac()...)
	objs = append(objs, s.governingService(), s.prometheus())
	if s.Replicas > 1 {
		objs = append(objs, s.podDisruptionBudget())
	}
	if s.NetworkPolicy {
		objs = append(objs, s.networkPolicy())
	}
	if s.Thanos.Enabled {
		objs = append(objs, s.thanosQueryObjects()...)
	}
	for _, p := range s.Presets {
		if p == PresetStatsd {
			statsd, err := s.statsdObjects()
			if err != nil {
				return Stack{}, err
			}
			objs = append(objs, statsd...)
		}
	}
	objs = append(objs, s.monitors()...)
	if len(s.sources()) > 0 {
		rule, err := s.prometheusRule()
		if err != nil {
			return Stack{}, err
		}
		objs = append(objs, rule)
	}
	alerting, err := s.alertingObjects()
	if err != nil {
		return Stack{}, err
	}
	objs = append(objs, alerting...)
	if s.GrafanaDashboard {
		cm, err := s.grafanaDashboard()
		if err != nil {
			return Stack{}, err
		}
		objs = append(objs, cm)
	}
	return Stack{Spec: s, Objects: objs}, nil
}
