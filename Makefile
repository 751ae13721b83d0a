# face2face — see README.md.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
GOBIN ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK ?= $(GOBIN)/staticcheck

.PHONY: all build demo test fmt-check vet staticcheck unit bench clean

all: build

# Audio mixing needs libopus (apt-get install libopus-dev pkg-config): with it
# the build uses cgo and -tags opus; without it, a static binary (no cgo)
# whose mixer says that mixing is unavailable.
TAGS ?= $(shell pkg-config --exists opus 2>/dev/null && echo opus)
CGO_FOR_BUILD = $(if $(TAGS),1,0)

build:
	CGO_ENABLED=$(CGO_FOR_BUILD) $(GO) build -trimpath -tags "$(TAGS)" -o bin/f2f ./cmd/f2f

demo: build
	./bin/f2f demo

test: fmt-check vet staticcheck unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags "$(TAGS)" ./...

$(STATICCHECK):
	GOBIN=$(GOBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) -tags "$(TAGS)" ./...

unit:
	@command -v ffmpeg >/dev/null || { echo "the media tests decode recordings with ffmpeg: apt-get install ffmpeg"; exit 1; }
	$(GO) test -race -tags "$(TAGS)" -timeout 15m ./...

bench: build
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench . -benchtime 5x ./...
	./bin/f2f bench daemon
	./bin/f2f bench chat
	./bin/f2f bench files
	./bin/f2f bench election

clean:
	rm -rf bin
