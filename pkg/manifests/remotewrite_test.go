package manifests

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func remoteWriteSpec() TeamSpec {
	s := DefaultTeamSpec("team-a", "team-a")
	s.RemoteWrite = []string{"https://mimir.example.com/api/v1/push", "http://receive.monitoring:19291/api/v1/receive"}
	s.RemoteWriteTenant = "team-a"
	return s
}

func TestEveryRemoteWriteCarriesTheTenantTheCredentialsAndTheTeamQueue(t *testing.T) {
	for name, auth := range map[string]RemoteWriteAuth{
		"basic auth": {BasicAuth: "mimir-auth"},
		"bearer":     {Bearer: SecretRef{"rw", "token"}},
		"none":       {},
	} {
		t.Run(name, func(t *testing.T) {
			s := remoteWriteSpec()
			s.RemoteWriteAuth = auth
			rws := s.prometheus().Spec.RemoteWrite
			if len(rws) != 2 {
				t.Fatalf("%d remote writes, want 2", len(rws))
			}
			for i, rw := range rws {
				if string(rw.URL) != s.RemoteWrite[i] {
					t.Errorf("remote write %d goes to %s", i, rw.URL)
				}
				if rw.Headers[TenantHeader] != "team-a" || len(rw.Headers) != 1 {
					t.Errorf("%s: headers %v, want only %s: team-a", rw.URL, rw.Headers, TenantHeader)
				}
				if rw.FollowRedirects == nil || *rw.FollowRedirects {
					t.Errorf("%s: followRedirects %v, want false", rw.URL, rw.FollowRedirects)
				}
				q := rw.QueueConfig
				if q == nil || q.MaxShards != 10 || q.MinShards != 1 || q.MaxSamplesPerSend != 2000 || q.Capacity != 10000 || !q.RetryOnRateLimit ||
					*q.BatchSendDeadline != "5s" || *q.MinBackoff != "100ms" || *q.MaxBackoff != "10s" {
					t.Errorf("%s: queue %+v", rw.URL, q)
				}
				switch {
				case auth.BasicAuth != "":
					if rw.BasicAuth == nil || rw.BasicAuth.Username.Name != "mimir-auth" || rw.BasicAuth.Username.Key != "username" ||
						rw.BasicAuth.Password.Name != "mimir-auth" || rw.BasicAuth.Password.Key != "password" || rw.Authorization != nil {
						t.Errorf("%s: basicAuth %+v, authorization %+v", rw.URL, rw.BasicAuth, rw.Authorization)
					}
				case auth.Bearer != (SecretRef{}):
					a := rw.Authorization
					if a == nil || a.Type != "Bearer" || a.Credentials == nil || a.Credentials.Name != "rw" || a.Credentials.Key != "token" || rw.BasicAuth != nil {
						t.Errorf("%s: authorization %+v, basicAuth %+v", rw.URL, a, rw.BasicAuth)
					}
				default:
					if rw.BasicAuth != nil || rw.Authorization != nil {
						t.Errorf("%s sends credentials nobody asked for", rw.URL)
					}
				}
				if b, err := json.Marshal(rw); err != nil || strings.Contains(string(b), `"bearerToken`) || strings.Contains(string(b), `"credentialsFile"`) {
					t.Errorf("%s: credentials inlined or read from a file: %s (%v)", rw.URL, b, err)
				}
			}
		})
	}
}

func TestRemoteWriteWithoutTenantSendsNoHeader(t *testing.T) {
	s := remoteWriteSpec()
	s.RemoteWriteTenant = ""
	for _, rw := range s.prometheus().Spec.RemoteWrite {
		if rw.Headers != nil {
			t.Errorf("%s: headers %v", rw.URL, rw.Headers)
		}
	}
	if rws := DefaultTeamSpec("team-a", "team-a").prometheus().Spec.RemoteWrite; rws != nil {
		t.Errorf("a stack without --remote-write has remote writes %v", rws)
	}
}

func TestRemoteWriteSecretsAreListedForTheSecretCommands(t *testing.T) {
	s := remoteWriteSpec()
	s.RemoteWriteAuth = RemoteWriteAuth{BasicAuth: "mimir-auth"}
	got := s.Secrets()
	want := []SecretKey{
		{SecretRef: SecretRef{"mimir-auth", "username"}, Holds: "the remote-write username"},
		{SecretRef: SecretRef{"mimir-auth", "password"}, Holds: "the remote-write password"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Secrets() = %+v, want %+v", got, want)
	}
	cmds := SecretCommands(s.Namespace, got)
	if len(cmds) != 1 || cmds[0] != "kubectl create secret generic mimir-auth -n team-a --from-literal=username='<the remote-write username>' --from-literal=password='<the remote-write password>'" {
		t.Errorf("commands %q", cmds)
	}
	s.RemoteWriteAuth = RemoteWriteAuth{Bearer: SecretRef{"rw", "token"}}
	if got := s.Secrets(); len(got) != 1 || got[0].SecretRef != (SecretRef{"rw", "token"}) {
		t.Errorf("bearer: Secrets() = %+v", got)
	}
}

func TestRemoteWriteValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*TeamSpec)
		field string
		want  string
	}{
		{"tenant without remote write", func(s *TeamSpec) { s.RemoteWrite = nil }, "remote-write-tenant", "only applies with --remote-write"},
		{"basic auth without remote write", func(s *TeamSpec) { s.RemoteWrite, s.RemoteWriteTenant = nil, ""; s.RemoteWriteAuth.BasicAuth = "a" },
			"remote-write-basic-auth", "only applies with --remote-write"},
		{"bearer without remote write", func(s *TeamSpec) {
			s.RemoteWrite, s.RemoteWriteTenant = nil, ""
			s.RemoteWriteAuth.Bearer = SecretRef{"a", "b"}
		},
			"remote-write-bearer", "only applies with --remote-write"},
		{"both credentials", func(s *TeamSpec) { s.RemoteWriteAuth = RemoteWriteAuth{BasicAuth: "a", Bearer: SecretRef{"b", "c"}} }, "remote-write-bearer", "use one of the two"},
		{"tenant with a slash", func(s *TeamSpec) { s.RemoteWriteTenant = "a/b" }, "remote-write-tenant", "not allowed"},
		{"tenant dot", func(s *TeamSpec) { s.RemoteWriteTenant = ".." }, "remote-write-tenant", "not a tenant ID"},
		{"tenant too long", func(s *TeamSpec) { s.RemoteWriteTenant = strings.Repeat("t", 151) }, "remote-write-tenant", "150"},
		{"basic auth secret name", func(s *TeamSpec) { s.RemoteWriteAuth.BasicAuth = "Mimir_Auth" }, "remote-write-basic-auth", "secret name"},
		{"bearer key", func(s *TeamSpec) { s.RemoteWriteAuth.Bearer = SecretRef{"rw", "a b"} }, "remote-write-bearer", "secret key"},
		{"remote write twice", func(s *TeamSpec) { s.RemoteWrite = []string{"https://m/w", "https://m/w"} }, "remote-write", "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := remoteWriteSpec()
			tt.edit(&s)
			err := s.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a FieldError", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Error(), tt.want) || strings.Contains(fe.Error(), "\n") {
				t.Errorf("error %q, want one line on --%s saying %q", fe.Error(), tt.field, tt.want)
			}
		})
	}
	if err := remoteWriteSpec().Validate(); err != nil {
		t.Errorf("a valid spec: %v", err)
	}
}

func TestParseTenant(t *testing.T) {
	for _, good := range []string{"team-a", "Team_A.prod", "a!b*c'(d)", strings.Repeat("t", 150), "1"} {
		if got, err := ParseTenant(good); err != nil || got != good {
			t.Errorf("ParseTenant(%q) = %q, %v", good, got, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a b", "a|b", "a/b", "ténant", "a\nb", strings.Repeat("t", 151)} {
		if _, err := ParseTenant(bad); err == nil {
			t.Errorf("ParseTenant(%q) accepted it", bad)
		}
	}
}

func TestRemoteWriteExplainNamesWhereAndWhichTenant(t *testing.T) {
	s := remoteWriteSpec()
	s.RemoteWriteAuth = RemoteWriteAuth{BasicAuth: "mimir-auth"}
	text := strings.Join(s.remoteWriteChoices(), "\n")
	for _, want := range []string{"https://mimir.example.com/api/v1/push", "http://receive.monitoring:19291/api/v1/receive",
		"as tenant team-a (header X-Scope-OrgID: team-a)", "Secret mimir-auth", "follows no redirect", "1 to 10 shards"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain lacks %q:\n%s", want, text)
		}
	}
	s.RemoteWriteTenant = ""
	if text := strings.Join(s.remoteWriteChoices(), "\n"); !strings.Contains(text, "no tenant header") {
		t.Errorf("explain without a tenant:\n%s", text)
	}
	var none TeamSpec
	if got := none.remoteWriteChoices(); got != nil {
		t.Errorf("explain without remote write: %q", got)
	}
}
