// Command render-krew renders the krew manifest template (krew/promteam.yaml) the way
// krew-release-bot does, for archives built locally: .TagName is the release tag and
// addURIAndSha writes each archive's URI and the sha256 of the file of that name in -dist.
// With -base-url the URIs point there instead (at a local server, say); with -serve ADDR it
// serves -dist over HTTP until it is stopped, so krew can download the archives.
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
)

func main() {
	tmpl := flag.String("template", "krew/promteam.yaml", "krew manifest template")
	dist := flag.String("dist", "dist", "directory holding the release archives")
	tag := flag.String("tag", "", "release tag, such as v0.1.0")
	out := flag.String("out", "", "where to write the manifest (default: standard output)")
	baseURL := flag.String("base-url", "", "serve the archives from here instead of the release's download URL")
	serve := flag.String("serve", "", "serve -dist over HTTP on this address (port 0: any) instead of rendering")
	addrFile := flag.String("address-file", "", "with -serve: write the address served on to this file")
	flag.Parse()
	if *serve != "" {
		if err := serveDir(*serve, *dist, *addrFile); err != nil {
			fmt.Fprintln(os.Stderr, "render-krew:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*tmpl, *dist, *tag, *baseURL, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render-krew:", err)
		os.Exit(1)
	}
}

func run(tmplPath, dist, tag, baseURL, out string) error {
	if tag == "" {
		return fmt.Errorf("-tag is required")
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
	if out == "" {
		_, err = os.Stdout.Write(buf.Bytes())
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
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
