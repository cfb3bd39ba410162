package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// distWith writes fake archives for platforms (os_arch) into a new dist directory.
func distWith(t *testing.T, tag string, platforms ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range platforms {
		ext := ".tar.gz"
		if strings.HasPrefix(p, "windows_") {
			ext = ".zip"
		}
		if err := os.WriteFile(filepath.Join(dir, "kubectl-promteam_"+tag+"_"+p+ext), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type manifest struct {
	Spec struct {
		Version   string `json:"version"`
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

func render(t *testing.T, dist, platforms string) (manifest, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "promteam.yaml")
	if err := run(filepath.Join("..", "..", "krew", "promteam.yaml"), dist, "v1.2.3", "", platforms, out); err != nil {
		return manifest{}, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m, nil
}

func TestEveryPlatform(t *testing.T) {
	all := []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64", "windows_arm64"}
	m, err := render(t, distWith(t, "v1.2.3", all...), "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Spec.Version != "v1.2.3" || len(m.Spec.Platforms) != len(all) {
		t.Fatalf("version %q, %d platforms", m.Spec.Version, len(m.Spec.Platforms))
	}
	// A missing archive is an error when every platform is wanted.
	if _, err := render(t, distWith(t, "v1.2.3", "linux_amd64"), ""); err == nil {
		t.Error("rendered every platform with one archive")
	}
}

// TestPlatformSubset: -platforms keeps only the named platforms, with the archives' checksums, and
// needs no archive for the others.
func TestPlatformSubset(t *testing.T) {
	m, err := render(t, distWith(t, "v1.2.3", "linux_amd64", "windows_amd64"), "linux_amd64,windows_amd64")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range m.Spec.Platforms {
		got = append(got, p.Selector.MatchLabels["os"]+"_"+p.Selector.MatchLabels["arch"]+" "+filepath.Base(p.URI)+" "+p.Bin)
		if len(p.SHA256) != 64 {
			t.Errorf("%s: sha256 %q", p.URI, p.SHA256)
		}
	}
	want := []string{
		"linux_amd64 kubectl-promteam_v1.2.3_linux_amd64.tar.gz kubectl-promteam",
		"windows_amd64 kubectl-promteam_v1.2.3_windows_amd64.zip kubectl-promteam.exe",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("platforms:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPlatformSubsetErrors(t *testing.T) {
	dist := distWith(t, "v1.2.3", "linux_amd64")
	for platforms, want := range map[string]string{
		"linux_amd64,plan9_amd64":  "no entry for plan9_amd64",
		"linux-amd64":              `invalid -platforms entry "linux-amd64"`,
		"linux_amd64,darwin_arm64": "kubectl-promteam_v1.2.3_darwin_arm64.tar.gz",
	} {
		if _, err := render(t, dist, platforms); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-platforms %s: %v, want an error naming %q", platforms, err, want)
		}
	}
}
