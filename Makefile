# kubectl-promteam. `make test` is what CI runs: it installs or builds every tool the tests need
# (cached under $PROMTEAM_CACHE), checks formatting, vet, lint and go.mod, builds a snapshot
# release, then runs all tests.
#
# Tests come in two tiers. Unit tests need nothing but Go and run in seconds (`make test-unit`).
# Tests that run a tool (prometheus, promtool, kube-apiserver and etcd, the operator, kwok, tmux,
# the built binary) are in files with `//go:build e2e` (`make test-e2e`, after `make tools`).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

export PROMTEAM_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kubectl-promteam
export PROMTEAM_BIN ?= $(PROMTEAM_CACHE)/bin

# Vet, the tests, the binaries the tests build and the snapshot release all compile with the
# release's flags (CGO_ENABLED=0, -trimpath, .goreleaser.yaml), so the packages go vet compiles
# are not compiled again for the host platform's release build and the tests (-race needs cgo
# and compiles its own). -trimpath joins whatever GOFLAGS the environment sets (such as
# -buildvcs=false), which would otherwise replace it.
export CGO_ENABLED ?= 0
export GOFLAGS := $(strip $(filter-out -trimpath,$(GOFLAGS)) -trimpath)

PKG := github.com/kubectl-promteam/kubectl-promteam
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X $(PKG)/pkg/plugin.version=$(VERSION) -X $(PKG)/pkg/plugin.commit=$(COMMIT) -X $(PKG)/pkg/plugin.date=$(DATE)

.PHONY: all
all: build

.PHONY: build
build: ## Build bin/kubectl-promteam
	CGO_ENABLED=0 go build -ldflags "$(LDFLAGS)" -o bin/kubectl-promteam ./cmd/kubectl-promteam

.PHONY: test
test: tools verify ## Everything CI runs: tools, checks, then the tests, the race tests and a snapshot release at once
	$(MAKE) --no-print-directory -j3 --output-sync=target test-others test-race release-check

# The end-to-end tests mostly wait (for rate windows, scrapes, the operator), so the race tests
# and the snapshot release, which mostly compile, run beside them at a lower priority: each
# prints its output, and how long it took, when it ends. For the same reason the tests run four
# parallel tests of a package at once (-parallel 4) rather than one per core. Every test runs
# once: test-others runs every package's tests but RACE_PKGS', which test-race runs under the
# race detector.
.PHONY: test-others test-race
test-others:
	@start=$$(date +%s); go test -count=1 -timeout 45m -parallel 4 -tags e2e $(OTHER_PKGS); echo "test-others: $$(( $$(date +%s) - start )) s"
test-race:
	@start=$$(date +%s); CGO_ENABLED=1 nice -n 10 go test -count=1 -timeout 20m -tags e2e -race $(RACE_PKGS); \
		echo "test-race: $$(( $$(date +%s) - start )) s"

# The fuzz targets' seed corpora and any inputs saved under testdata/fuzz run with every `go test`;
# `make fuzz` explores beyond them (its instrumented build would add minutes to every CI run).

# The packages whose goroutines meet: the port-forward tunnel, the collector, the dashboard and the
# Prometheus client (their tests against the real API server and Prometheus are e2e).
RACE_PKGS := ./pkg/portforward ./pkg/traffic ./pkg/tui ./pkg/prom
# Every other package of the module.
OTHER_PKGS = $(filter-out $(RACE_PKGS:./%=$(PKG)/%),$(shell go list -tags e2e ./...))

.PHONY: test-unit
test-unit: ## Unit tests: no tools needed, seconds
	go test -count=1 ./...

.PHONY: test-e2e
test-e2e: ## Unit and e2e tests (the tools must be installed: make tools)
	go test -count=1 -timeout 45m -parallel 4 -tags e2e ./...

# One tool build at a time: on two cores each build keeps both busy, and a later build finds the
# packages an earlier one compiled at the same version and flags in the cache, where two builds at
# once would each compile them (two at a time took 3,076 s cold, though beside other builds,
# against 2,145 s one at a time on a quiet machine).
TOOLS := tools-prometheus tools-alertmanager tools-k8s tools-operator tools-thanos tools-prometheus3 tools-lint tools-release tools-tmux

.PHONY: tools $(TOOLS)
tools: $(TOOLS) ## Install or build prometheus, promtool, alertmanager, Kubernetes, etcd, kwok, the operator, Prometheus 3, Thanos, golangci-lint, goreleaser, krew and tmux

tools-prometheus:
	hack/install-prometheus.sh
tools-alertmanager:
	hack/install-alertmanager.sh
tools-k8s:
	hack/install-k8s.sh
tools-operator:
	hack/install-operator.sh
tools-thanos:
	hack/install-thanos.sh
tools-prometheus3: tools-thanos # the Prometheus of Thanos' module graph
	hack/install-prometheus3.sh
tools-lint:
	hack/install-lint.sh
tools-release:
	hack/install-release-tools.sh
tools-tmux: tools-prometheus # one apt at a time
	hack/install-tmux.sh

.PHONY: release-check
release-check: tools-release tools-k8s ## Snapshot release (the host platform, the other five type-checked; all six on a tag), krew manifest validated and installed
	@start=$$(date +%s); nice -n 10 hack/verify-release.sh; echo "release-check: $$(( $$(date +%s) - start )) s"

.PHONY: verify
verify: fmt-check vet tidy-check lint ## Formatting, vet, go.mod drift and lint

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -s -l $$(git ls-files '*.go' | grep -v '^hack/tools/')); \
	if [ -n "$$out" ]; then echo "not gofmt -s formatted:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet:
	go vet -tags e2e ./...

.PHONY: tidy-check
tidy-check:
	go mod tidy -diff

.PHONY: lint
lint: tools-lint
	"$(PROMTEAM_BIN)/golangci-lint" run ./...

.PHONY: golden
golden: ## Rewrite every golden file (unit and e2e tests) from the current output; needs the tools
	PROMTEAM_UPDATE_GOLDEN=1 go test -count=1 -timeout 45m -tags e2e $$(go list -tags e2e \
		-f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | \
		awk '{for (i = 2; i <= NF; i++) if ($$i == "$(PKG)/internal/testutil/golden") {print $$1; break}}')

.PHONY: docs
docs: ## Regenerate the command reference in docs/commands and README's create flags
	PROMTEAM_UPDATE_GOLDEN=1 go test -count=1 ./pkg/plugin -run 'CommandDocs|Readme'

.PHONY: update-crds
update-crds: ## Vendor the Prometheus Operator CRDs the tests validate against
	go run ./hack/update-crds

.PHONY: bench
bench: ## Benchmarks, reported as ratios against baselines measured in the same run
	hack/bench

.PHONY: fuzz
fuzz: ## Fuzz the create flags, the Prometheus answer decoder and the text sanitizer for a minute each
	go test -tags e2e ./pkg/plugin -run '^$$' -fuzz FuzzCreateFlags -fuzztime 60s
	go test ./pkg/prom -run '^$$' -fuzz FuzzDecode -fuzztime 60s
	go test ./pkg/termtext -run '^$$' -fuzz FuzzSanitize -fuzztime 60s
