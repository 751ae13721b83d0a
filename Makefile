# face2face — see README.md.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
GOBIN ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK ?= $(GOBIN)/staticcheck

.PHONY: all build demo test fmt-check vet staticcheck unit bench fuzz clean vendor-js

all: build

# `make build`: the one build, with every feature: cgo for Automerge (the
# collaborative documents; its static Rust library ships in the Go module)
# libopus (audio mixing) and libvpx (video composition on the mixer):
# apt-get install libopus-dev libvpx-dev pkg-config gcc.
build:
	CGO_ENABLED=1 $(GO) build -trimpath -o bin/f2f ./cmd/f2f

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
	@pkg-config --exists opus 2>/dev/null || { echo "audio mixing builds with libopus: apt-get install libopus-dev pkg-config"; exit 1; }
	@pkg-config --exists vpx 2>/dev/null || { echo "video composition builds with libvpx: apt-get install libvpx-dev pkg-config"; exit 1; }
	@command -v ffmpeg >/dev/null || { echo "the media tests decode recordings with ffmpeg: apt-get install ffmpeg"; exit 1; }
	@command -v chromium >/dev/null || { echo "the browser UI's tests drive Chromium: apt-get install chromium"; exit 1; }
	$(GO) test -race -timeout 15m ./...

# `make fuzz`: every Go fuzz target (decoders fed by the network or by a
# file a user opens) for FUZZTIME each, one after the other (`make test`
# runs only their seed corpora). A crash leaves its input under the
# package's testdata/fuzz/, which then is a seed for good.
FUZZTIME ?= 60s
FUZZPKGS ?= ./overlay ./media ./files ./collab
fuzz:
	@set -e; for pkg in $(FUZZPKGS); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 5x ./...
	./bin/f2f bench daemon
	./bin/f2f bench chat
	./bin/f2f bench files
	./bin/f2f bench election
	./bin/f2f bench media

clean:
	rm -rf bin

# `make vendor-js`: refresh the page's pinned vendored libraries with npm
# (web/vendor/). Neither building nor testing needs npm or this target.
HTM_VERSION ?= 3.1.1
AUTOMERGE_VERSION ?= 3.5.0
vendor-js:
	@command -v npm >/dev/null || { echo "make vendor-js needs npm"; exit 1; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	(cd $$tmp && npm pack --silent htm@$(HTM_VERSION) >/dev/null && tar xzf htm-$(HTM_VERSION).tgz); \
	cp $$tmp/package/preact/standalone.module.js web/vendor/htm-preact-standalone.module.js; \
	cp $$tmp/package/LICENSE web/vendor/htm.LICENSE; \
	(cd $$tmp && npm pack --silent @automerge/automerge@$(AUTOMERGE_VERSION) >/dev/null && mkdir am && tar xzf automerge-automerge-$(AUTOMERGE_VERSION).tgz -C am); \
	rm -rf web/vendor/automerge; mkdir -p web/vendor/automerge/generated web/vendor/automerge/wasm_bindgen_output/web; \
	m=$$tmp/am/package/dist/mjs; \
	cp $$m/*.js web/vendor/automerge/; cp $$m/generated/*.js web/vendor/automerge/generated/; \
	cp $$m/wasm_bindgen_output/web/automerge_wasm.js web/vendor/automerge/wasm_bindgen_output/web/; \
	cp $$tmp/am/package/dist/automerge.wasm $$tmp/am/package/LICENSE web/vendor/automerge/; \
	echo "web/vendor: htm $(HTM_VERSION) (with preact) and @automerge/automerge $(AUTOMERGE_VERSION) (ES modules + wasm) refreshed"
