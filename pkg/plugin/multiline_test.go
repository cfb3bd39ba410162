package plugin

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// TestPreflightErrorKeepsItsLines: the list of missing permissions is the one error main prints
// on several lines.
func TestPreflightErrorKeepsItsLines(t *testing.T) {
	err := preflightError("dev", "team-a", []kube.Permission{{Verb: "create", Group: "monitoring.coreos.com", Resource: "prometheuses", Namespace: "team-a"}})
	var lines MultiLineError
	if !errors.As(err, &lines) || strings.Count(err.Error(), "\n") < 2 {
		t.Errorf("preflight error %q is not a MultiLineError of several lines", err)
	}
}
