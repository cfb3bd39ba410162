package prom

import (
	"context"
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
		return decodeData(code, body, &data)
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
