package am

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/prom"
)

func newClient(t *testing.T, cfg prom.Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSilencesSendsTheFilterAndDecodesTheAnswer(t *testing.T) {
	var gotFilter []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/am/api/v2/silences" {
			t.Errorf("path %s, want /am/api/v2/silences", r.URL.Path)
		}
		gotFilter = r.URL.Query()["filter"]
		// isEqual is missing from the first matcher, as Alertmanager before 0.22 writes it.
		_, _ = io.WriteString(w, `[{"id":"a1","status":{"state":"active"},"updatedAt":"2026-12-05T10:00:00Z",
			"matchers":[{"name":"team","value":"a","isRegex":false},{"name":"alertname","value":"Envoy.*","isRegex":true,"isEqual":false}],
			"startsAt":"2026-12-05T10:00:00Z","endsAt":"2026-12-05T12:00:00Z","createdBy":"ann","comment":"deploy"}]`)
	}))
	defer srv.Close()
	c := newClient(t, prom.Config{URL: srv.URL + "/am/"})
	got, err := c.Silences(context.Background(), TeamMatchers("a", "team-a"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`team="a"`, `namespace="team-a"`}; strings.Join(gotFilter, " ") != strings.Join(want, " ") {
		t.Errorf("filter %q, want %q", gotFilter, want)
	}
	if len(got) != 1 {
		t.Fatalf("got %d silences, want 1", len(got))
	}
	s := got[0]
	if s.ID != "a1" || s.Status.State != SilenceActive || s.CreatedBy != "ann" || s.Comment != "deploy" || s.EndsAt.Sub(s.StartsAt) != 2*time.Hour {
		t.Errorf("decoded %+v", s)
	}
	if m := s.Matchers; m[0].String() != `team="a"` || m[1].String() != `alertname!~"Envoy.*"` {
		t.Errorf("matchers %v, want team=\"a\" and alertname!~\"Envoy.*\"", m)
	}
}

func TestCreateSilencePostsItWithTheTokenAndReturnsTheID(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var posted NewSilence
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/silences" {
			t.Errorf("%s %s, want POST /api/v2/silences", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
			t.Errorf("Authorization %q", got)
		}
		if err := json.NewDecoder(r.Body).Decode(&posted); err != nil {
			t.Error(err)
		}
		_, _ = io.WriteString(w, `{"silenceID":"5f3c"}`)
	}))
	defer srv.Close()
	c := newClient(t, prom.Config{URL: srv.URL, BearerTokenFile: token})
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	id, err := c.CreateSilence(context.Background(), NewSilence{
		Matchers: TeamMatchers("a", "team-a"), StartsAt: start, EndsAt: start.Add(time.Hour), CreatedBy: "ann", Comment: "deploy",
	})
	if err != nil || id != "5f3c" {
		t.Fatalf("CreateSilence = %q, %v; want 5f3c", id, err)
	}
	if !ScopedTo(posted.Matchers, "a", "team-a") || posted.Comment != "deploy" || !posted.EndsAt.Equal(start.Add(time.Hour)) {
		t.Errorf("posted %+v", posted)
	}
}

func TestExpireSilenceOfAnUnknownIDIsNotFound(t *testing.T) {
	var method, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path = r.Method, r.URL.Path
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `"silence 0a not found"`)
	}))
	defer srv.Close()
	err := newClient(t, prom.Config{URL: srv.URL}).ExpireSilence(context.Background(), "0a")
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.ID != "0a" {
		t.Fatalf("err = %v, want a NotFoundError for 0a", err)
	}
	if method != http.MethodDelete || path != "/api/v2/silence/0a" {
		t.Errorf("sent %s %s, want DELETE /api/v2/silence/0a", method, path)
	}
}

func TestAnErrorAnswerShowsAlertmanagersMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `"silence invalid: at least one matcher must not match the empty string"`+"\n")
	}))
	defer srv.Close()
	_, err := newClient(t, prom.Config{URL: srv.URL}).CreateSilence(context.Background(), NewSilence{})
	want := "POST /api/v2/silences at " + srv.URL + ": Alertmanager answered 400 Bad Request: silence invalid: at least one matcher must not match the empty string"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestABadIDIsRefusedWithoutARequest(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	c := newClient(t, prom.Config{URL: srv.URL})
	for _, id := range []string{"", "../silences", "a/b", "x\x1b[2J", strings.Repeat("a", 65)} {
		if err := c.ExpireSilence(context.Background(), id); err == nil || !strings.Contains(err.Error(), "is not one") {
			t.Errorf("ExpireSilence(%q) = %v, want a refused ID", id, err)
		}
		if _, err := c.Silence(context.Background(), id); err == nil {
			t.Errorf("Silence(%q) succeeded", id)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests reached Alertmanager", n)
	}
}

// Hostile answers: each fails the request with an error that says what happened, in time, and
// without reading more than the limit.
func TestHostileAnswers(t *testing.T) {
	t.Run("huge body", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "[")
			chunk := strings.Repeat(`{"id":"x"},`, 1000)
			for range 2000 { // about 22 MB
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		}))
		defer srv.Close()
		_, err := newClient(t, prom.Config{URL: srv.URL, MaxAnswerBytes: 1 << 20}).Silences(context.Background(), nil)
		var big *prom.AnswerTooLargeError
		if !errors.As(err, &big) || big.Limit != 1<<20 {
			t.Fatalf("err = %v, want an AnswerTooLargeError at 1Mi", err)
		}
		if strings.Contains(err.Error(), "prometheus") {
			t.Errorf("error %q names a Prometheus flag", err)
		}
	})
	t.Run("slow answer", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		start := time.Now()
		_, err := newClient(t, prom.Config{URL: srv.URL, Timeout: 200 * time.Millisecond}).Status(context.Background())
		if err == nil || !strings.Contains(err.Error(), "no answer in time") {
			t.Fatalf("err = %v, want no answer in time", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s for a 200ms timeout", d)
		}
	})
	t.Run("redirect to another origin", func(t *testing.T) {
		var leaked atomic.Int32
		other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { leaked.Add(1) }))
		defer other.Close()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}))
		defer srv.Close()
		token := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(token, []byte("s3cret"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := newClient(t, prom.Config{URL: srv.URL, BearerTokenFile: token}).CreateSilence(context.Background(),
			NewSilence{Matchers: TeamMatchers("a", "team-a"), Comment: "secret plans"})
		var redir *prom.RedirectError
		if !errors.As(err, &redir) || !strings.Contains(err.Error(), "refused Alertmanager's redirect") {
			t.Fatalf("err = %v, want a refused redirect", err)
		}
		if n := leaked.Load(); n != 0 {
			t.Errorf("%d requests followed the redirect to another origin", n)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "<html>login</html>")
		}))
		defer srv.Close()
		_, err := newClient(t, prom.Config{URL: srv.URL}).Alerts(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), "not Alertmanager's API v2 JSON") {
			t.Fatalf("err = %v, want not Alertmanager's API v2 JSON", err)
		}
	})
	t.Run("error page of many lines", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, strings.Repeat("x", 5000)+"\nsecond line")
		}))
		defer srv.Close()
		_, err := newClient(t, prom.Config{URL: srv.URL}).Alerts(context.Background(), nil)
		if err == nil || strings.Contains(err.Error(), "second line") || len(err.Error()) > 600 {
			t.Fatalf("err = %.200v…, want one clipped line", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := newClient(t, prom.Config{URL: url}).Status(context.Background())
		if err == nil || !strings.HasPrefix(err.Error(), "cannot reach Alertmanager at "+url) {
			t.Fatalf("err = %v, want cannot reach Alertmanager at %s", err, url)
		}
	})
}

func TestAlertsDecodeReceiversAndSilences(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" {
			t.Errorf("path %s", r.URL.Path)
		}
		_, _ = io.WriteString(w, `[{"labels":{"alertname":"EnvoyHigh5xx","team":"a"},"annotations":{},"startsAt":"2026-12-05T10:00:00Z",
			"endsAt":"2026-12-05T10:05:00Z","updatedAt":"2026-12-05T10:00:00Z","fingerprint":"f1",
			"receivers":[{"name":"team-a/a/critical"}],"status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]}}]`)
	}))
	defer srv.Close()
	alerts, err := newClient(t, prom.Config{URL: srv.URL}).Alerts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Receivers[0].Name != "team-a/a/critical" || alerts[0].Status.SilencedBy[0] != "s1" || alerts[0].Labels["team"] != "a" {
		t.Fatalf("decoded %+v", alerts)
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	_, err := New(prom.Config{URL: "localhost:9093"})
	var ce *prom.ConfigError
	if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "Alertmanager URL localhost:9093: use an http or https URL, e.g. http://localhost:9093") {
		t.Fatalf("err = %v", err)
	}
}
