// Command render-krew renders the krew manifest template (krew/promteam.yaml) the way
// krew-release-bot does, for archives built locally: .TagName is the release tag and
// addURIAndSha writes each archive's URI and the sha256 of the file of that name in -dist.
// With -base-url the URIs point there instead (at a local server, say); with -serve ADDR it
// serves -dist over HTTP until it is stopped, so krew can download the archives. With -platforms
// (os_arch,...) the manifest lists only those platforms, for a snapshot built for some of them.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"
)

func main() {
	tmpl := flag.String("template", "krew/promteam.yaml", "krew manifest template")
	dist := flag.String("dist", "dist", "directory holding the release archives")
	tag := flag.String("tag", "", "release tag, such as v0.1.0")
	out := flag.String("out", "", "where to write the manifest (default: standard output)")
	baseURL := flag.String("base-url", "", "serve the archives from here instead of the release's download URL")
	serve := flag.String("serve", "", "serve -dist over HTTP on this address (port 0: any) instead of rendering")
	addrFile := flag.String("address-file", "", "with -serve: write the address served on to this file")
	platforms := flag.String("platforms", "", "list only these platforms, such as linux_amd64,windows_amd64 (default: every platform of the template)")
	flag.Parse()
	if *serve != "" {
		if err := serveDir(*serve, *dist, *addrFile); err != nil {
			fmt.Fprintln(os.Stderr, "render-krew:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*tmpl, *dist, *tag, *baseURL, *platforms, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render-krew:", err)
		os.Exit(1)
	}
}

func run(tmplPath, dist, tag, baseURL, platforms, out string) error {
	if tag == "" {
		return fmt.Errorf("-tag is required")
	}
	only, err := parsePlatforms(platforms)
	if err != nil {
		return err
	}
	text, err := os.ReadFile(tmplPath)
	if err != nil {
		return err
	}
	funcs := template.FuncMap{
		"addURIAndSha": func(uri, tag string) (string, error) {
			uri = strings.ReplaceAll(uri, "{{ .TagName }}", tag)
			if baseURL != "" {
				uri = strings.TrimSuffix(baseURL, "/") + "/" + path.Base(uri)
			}
			if only != nil && !only[archivePlatform(path.Base(uri))] {
				// Not built; its platform entry is dropped below.
				return "uri: " + uri + "\n    sha256: unbuilt", nil
			}
			sum, err := sha256File(filepath.Join(dist, path.Base(uri)))
			if err != nil {
				return "", err
			}
			return "uri: " + uri + "\n    sha256: " + sum, nil
		},
	}
	t, err := template.New(filepath.Base(tmplPath)).Funcs(funcs).Parse(string(text))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, struct{ TagName string }{tag}); err != nil {
		return err
	}
	manifest := buf.Bytes()
	if only != nil {
		if manifest, err = keepPlatforms(manifest, only); err != nil {
			return err
		}
	}
	if out == "" {
		_, err = os.Stdout.Write(manifest)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, manifest, 0o644)
}

// parsePlatforms reads -platforms: nil for every platform, else the set of os_arch names.
func parsePlatforms(list string) (map[string]bool, error) {
	if list == "" {
		return nil, nil
	}
	set := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if goos, goarch, ok := strings.Cut(p, "_"); !ok || goos == "" || goarch == "" || strings.Contains(goarch, "_") {
			return nil, fmt.Errorf("invalid -platforms entry %q: want os_arch, such as linux_amd64", p)
		}
		set[p] = true
	}
	return set, nil
}

// archivePlatform is the os_arch of a release archive named NAME_VERSION_OS_ARCH.EXT.
func archivePlatform(name string) string {
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz")
	parts := strings.Split(name, "_")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2] + "_" + parts[len(parts)-1]
}

// keepPlatforms drops the entries of spec.platforms whose os and arch are not in only, and fails
// when a platform of only has no entry.
func keepPlatforms(manifest []byte, only map[string]bool) ([]byte, error) {
	var m struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       map[string]any `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(manifest, &m); err != nil {
		return nil, fmt.Errorf("rendered manifest: %w", err)
	}
	entries, _ := m.Spec["platforms"].([]any)
	var kept []any
	found := map[string]bool{}
	for _, e := range entries {
		var p struct {
			Selector struct {
				MatchLabels struct {
					OS   string `json:"os"`
					Arch string `json:"arch"`
				} `json:"matchLabels"`
			} `json:"selector"`
		}
		b, err := yaml.Marshal(e)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(b, &p); err != nil {
			return nil, err
		}
		name := p.Selector.MatchLabels.OS + "_" + p.Selector.MatchLabels.Arch
		if only[name] {
			kept = append(kept, e)
			found[name] = true
		}
	}
	for p := range only {
		if !found[p] {
			return nil, fmt.Errorf("-platforms names %s, but the template has no entry for %s", p, p)
		}
	}
	m.Spec["platforms"] = kept
	return yaml.Marshal(m)
}

func serveDir(addr, dir, addrFile string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(l.Addr().String()), 0o644); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
