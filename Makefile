# nv2: sign and verify OCI artifacts. `make demo` and `make test` are the two
# commands a newcomer needs; tools are built from the Go module proxy into
# $(NV2_CACHE) the first time they are needed.

GO        ?= go
NV2_CACHE ?= $(HOME)/.cache/nv2
BIN       := bin
VERSION   ?= 0.1.0
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 5s
STATICCHECK_VERSION := v0.8.2

export NV2_CACHE

.PHONY: all build test test-unit fuzz lint demo bench bench-blob concurrency install-docker-plugin image registry-image image-check clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/nv2 ./cmd/nv2

# test runs every test against in-process registries (go-containerregistry's
# with the referrers API, CNCF distribution 3.x for the fallback), then every
# fuzz target for $(FUZZTIME) each.
test: build test-unit fuzz

# The docker engine tests (cmd/nv2) use the engine `docker info` reaches, else
# start a private dockerd as root (scripts/dockerd.sh); without either they
# skip, and the check below says how to run them. NV2_REQUIRE_DOCKER=1 (CI)
# makes a skip a failure.
test-unit:
	@scripts/dockerd.sh check || true
	$(GO) test -count=1 -timeout 15m ./...

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@test -x $(NV2_CACHE)/bin/staticcheck-$(STATICCHECK_VERSION) || { \
		mkdir -p $(NV2_CACHE)/bin && GOBIN=$(NV2_CACHE)/gobin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) && \
		mv $(NV2_CACHE)/gobin/staticcheck $(NV2_CACHE)/bin/staticcheck-$(STATICCHECK_VERSION); }
	$(NV2_CACHE)/bin/staticcheck-$(STATICCHECK_VERSION) ./...

# install-docker-plugin installs nv2 as the docker CLI plugin "docker nv2" for
# the current user: $DOCKER_CONFIG/cli-plugins/docker-nv2, where DOCKER_CONFIG
# defaults to ~/.docker as it does for docker itself.
DOCKER_PLUGIN_DIR = $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins

install-docker-plugin: build
	mkdir -p "$(DOCKER_PLUGIN_DIR)"
	install -m 0755 $(BIN)/nv2 "$(DOCKER_PLUGIN_DIR)/docker-nv2"
	@echo "installed $(DOCKER_PLUGIN_DIR)/docker-nv2: try 'docker nv2 --help'"

demo: build
	scripts/demo.sh

bench: build
	scripts/bench.sh

# bench-blob signs and verifies a 4 GiB file (BLOB_SIZE) beside sha256sum and
# sha384sum of it: time, throughput and peak RSS.
bench-blob: build
	scripts/bench-blob.sh

# concurrency runs 20 `nv2 sign` processes at once on one image of a real CNCF
# distribution registry process (NV2_REGISTRY_PORT, default 5001) and checks
# that all 20 signatures are discoverable.
concurrency: build
	scripts/concurrent-sign.sh

# image and registry-image build reproducible OCI image layouts (FROM
# scratch, linux/amd64 and linux/arm64 in one index) of nv2 and of the CNCF
# distribution registry into bin/images/, sign them offline with nv2 itself
# (--recursive), and load this machine's platform into a docker engine when
# one is reachable (see scripts/image.sh and the README's "Container images").
image: build
	VERSION=$(VERSION) scripts/image.sh nv2

registry-image: build
	scripts/image.sh registry

# image-check builds both images twice into separate folders and fails unless
# the index digests are the same.
image-check: build
	scripts/image-check.sh

clean:
	rm -rf $(BIN)
