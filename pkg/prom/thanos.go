package prom

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/doctor"
)

// Stores lists the stores a Thanos Query knows, of every type (/api/v1/stores), sorted by type
// and address. It implements the Stores half of doctor.Thanos.
func (c *Client) Stores(ctx context.Context) ([]doctor.ThanosStore, error) {
	const endpoint = "/api/v1/stores"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	type store struct {
		Name      string              `json:"name"`
		LastError *string             `json:"lastError"`
		LabelSets []map[string]string `json:"labelSets"`
	}
	var data map[string][]store
	if err := c.fetch(ctx, endpoint, nil, false, func(code int, body []byte) error {
		return c.decodeData(code, body, &data)
	}); err != nil {
		return nil, c.endpointError(endpoint, err)
	}
	var out []doctor.ThanosStore
	for typ, list := range data {
		for _, s := range list {
			st := doctor.ThanosStore{Type: typ, Name: s.Name, LabelSets: s.LabelSets}
			if s.LastError != nil {
				st.LastError = *s.LastError
			}
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b doctor.ThanosStore) int {
		if d := strings.Compare(a.Type, b.Type); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// PartialAnswerError is an answer of a Thanos Query that lacks what some of its stores hold: it
// says so in a warning, which in ThanosQuery mode fails the request, since a number from part of
// the shards is not the number asked for.
type PartialAnswerError struct {
	Warning string
}

func (e *PartialAnswerError) Error() string {
	return "the Thanos Query answered without some of its stores (partial answers are refused): " + e.Warning
}

// limitWarning is the warning Prometheus' API (and a Thanos Query's, which serves it) answers
// when a request's own limit parameter cut the answer short: the caller asked for it.
const limitWarning = "results truncated due to limit"

// partialWarning returns the first warning that says a store did not answer. PromQL's own
// warnings and infos ("PromQL warning: …") are about the query, not the stores, and the limit
// warning about the request.
func partialWarning(warnings []string) (string, bool) {
	for _, w := range warnings {
		if !strings.HasPrefix(w, "PromQL ") && w != limitWarning {
			return w, true
		}
	}
	return "", false
}

// checkPartial fails, in ThanosQuery mode, an answer whose warnings say a store did not answer:
// a Thanos Query may still answer success, with warnings, when a store fails.
func (c *Client) checkPartial(warnings []string) error {
	if !c.thanos {
		return nil
	}
	if w, partial := partialWarning(warnings); partial {
		return &PartialAnswerError{Warning: short(w, 300, false)}
	}
	return nil
}

// decodeData is decodeData, and in ThanosQuery mode checkPartial of the answer's warnings.
func (c *Client) decodeData(code int, body []byte, out any) error {
	if err := decodeData(code, body, out); err != nil {
		return err
	}
	if !c.thanos {
		return nil
	}
	var env struct {
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil // decodeData read it; no warnings to see
	}
	return c.checkPartial(env.Warnings)
}

// splitInfos moves PromQL's infos ("PromQL info: …"), which a Thanos Query answers among its
// warnings, to the infos, where Prometheus answers them.
func splitInfos(warnings, infos []string) ([]string, []string) {
	var kept []string
	for _, w := range warnings {
		if strings.HasPrefix(w, "PromQL info:") {
			infos = append(infos, w)
		} else {
			kept = append(kept, w)
		}
	}
	return kept, infos
}
