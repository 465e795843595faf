# The test command of the README and of CI.
GO ?= go
# Core packages that also run under the race detector.
RACE_PKGS = ./internal/storage/... ./internal/registry/... ./internal/apiserver/... ./internal/controller/... \
	./internal/inproc/... ./internal/proxy/... ./internal/scheduler/...

.PHONY: build test race vet bench
build:
	$(GO) build -o skiff ./cmd/skiff

test: vet
	$(GO) test ./...
	$(GO) test -race -short $(RACE_PKGS)

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l cmd internal test bench 2>/dev/null)" || { gofmt -l cmd internal test bench; echo "gofmt needed"; exit 1; }

bench:
	$(GO) run ./bench/cmd/skiffbench
