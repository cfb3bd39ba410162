package plugin

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestReachFlagsBadInput: each mistake in the flags that choose how to reach Prometheus is one
// error naming the flag, before anything is contacted.
func TestReachFlagsBadInput(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"port-forward without a team", []string{"port-forward"}, []string{"port-forward needs a team name"}},
		{"port-forward two teams", []string{"port-forward", "a", "b"}, []string{"takes one team name"}},
		{"port-forward port", []string{"port-forward", "team-a", "--port", "70000"}, []string{`invalid --port "70000"`, "0 (any free port) to 65535"}},
		{"port-forward negative port", []string{"port-forward", "team-a", "--port=-1"}, []string{`invalid --port "-1"`}},
		{"port-forward address", []string{"port-forward", "team-a", "--address", "my-laptop"}, []string{`invalid --address "my-laptop"`, "localhost"}},
		{"port-forward timeout", []string{"port-forward", "team-a", "--timeout=-1s"}, []string{`invalid --timeout "-1s"`}},
		{"top nothing to reach", []string{"top", "--once"}, []string{"name a TEAM", "--prometheus-url", "--demo"}},
		{"top proxy and url", []string{"top", "team-a", "--via-proxy", "--prometheus-url", "http://localhost:9090"}, []string{`invalid --via-proxy "true"`, "use one of the two"}},
		{"top proxy without team", []string{"top", "--via-proxy"}, []string{`invalid --via-proxy "true"`, "name the TEAM"}},
		{"top proxy and demo", []string{"top", "--via-proxy", "--demo"}, []string{`invalid --via-proxy "true"`, "--demo"}},
		{"doctor proxy and url", []string{"doctor", "team-a", "--via-proxy", "--prometheus-url", "http://localhost:9090"}, []string{`invalid --via-proxy "true"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

func TestBrowsableURL(t *testing.T) {
	for _, tc := range []struct {
		address string
		ip      string
		want    string
	}{
		{"127.0.0.1", "127.0.0.1", "http://127.0.0.1:9090"},
		{"localhost", "127.0.0.1", "http://localhost:9090"},
		{"0.0.0.0", "0.0.0.0", "http://127.0.0.1:9090"},
		{"::1", "::1", "http://[::1]:9090"},
	} {
		if got := browsableURL(tc.address, &net.TCPAddr{IP: net.ParseIP(tc.ip), Port: 9090}); got != tc.want {
			t.Errorf("browsableURL(%s) = %s, want %s", tc.address, got, tc.want)
		}
	}
}
