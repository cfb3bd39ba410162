// Command typecheck type-checks Go packages, and every package they import, from source for
// other platforms than the host's, without compiling them.
//
//	typecheck -platforms darwin/arm64,windows/amd64 ./cmd/kubectl-promteam
//
// A snapshot release builds the host's binary for real; typecheck finds what would not compile
// on the other release platforms (a symbol missing from a package for that GOOS, a file left out
// by a build constraint) in about a twentieth of the time a cross-compilation takes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/tools/go/packages"
)

func main() {
	platforms := flag.String("platforms", "", "comma-separated GOOS/GOARCH pairs to check")
	dir := flag.String("C", ".", "directory of the module whose packages are checked")
	flag.Parse()
	if err := run(*dir, strings.Split(*platforms, ","), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "typecheck:", err)
		os.Exit(1)
	}
}

func run(dir string, platforms, patterns []string) error {
	if len(patterns) == 0 {
		return errors.New("name the packages to check")
	}
	failed := false
	for _, platform := range platforms {
		goos, goarch, ok := strings.Cut(platform, "/")
		if !ok || goos == "" || goarch == "" {
			return fmt.Errorf("-platforms: %q is not GOOS/GOARCH", platform)
		}
		n, errs, err := check(dir, goos, goarch, patterns)
		if err != nil {
			return fmt.Errorf("%s: %w", platform, err)
		}
		for _, e := range errs {
			fmt.Fprintf(os.Stderr, "%s: %s\n", platform, e)
		}
		if len(errs) > 0 {
			failed = true
		}
		fmt.Fprintf(os.Stderr, "typecheck: %s: %d packages, %d errors\n", platform, n, len(errs))
	}
	if failed {
		return errors.New("the packages do not compile on every platform")
	}
	return nil
}

// check loads the packages and everything they import with syntax and types, so every package
// is type-checked from its source files for the platform (no export data, which would need a
// compilation).
func check(dir, goos, goarch string, patterns []string) (int, []packages.Error, error) {
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedImports | packages.NeedDeps |
			packages.NeedSyntax | packages.NeedTypes,
		Dir: dir,
		Env: append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0"),
	}
	roots, err := packages.Load(cfg, patterns...)
	if err != nil {
		return 0, nil, err
	}
	var errs []packages.Error
	n := 0
	packages.Visit(roots, nil, func(p *packages.Package) {
		n++
		errs = append(errs, p.Errors...)
	})
	return n, errs, nil
}
