# face2face — see README.md.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
GOBIN ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK ?= $(GOBIN)/staticcheck

.PHONY: all build demo test fmt-check vet staticcheck unit bench clean

all: build

# A static binary (no cgo): smaller and leaner at run time.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/f2f ./cmd/f2f

demo: build
	./bin/f2f demo

test: fmt-check vet staticcheck unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

$(STATICCHECK):
	GOBIN=$(GOBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

unit:
	$(GO) test -race -timeout 15m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 5x ./...
	./bin/f2f bench daemon
	./bin/f2f bench chat
	./bin/f2f bench files
	./bin/f2f bench election

clean:
	rm -rf bin
