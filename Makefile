# moltx: `make demo` runs the main job on bundled data, `make test` runs every test.
# Both install the Debian packages they need first, only when missing.

DEB_PACKAGES := librdkit-dev libboost-dev libboost-serialization-dev libhdf5-dev pkg-config fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo

.PHONY: deps demo test lint bench build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build --release

demo: build
	./target/release/moltx screen --library fixtures/approved_drugs.csv --out target/demo_screen.csv
	./target/release/moltx connect --query fixtures/expr/disease.tsv --reference fixtures/expr/refs.tsv \
	  --score wtcs --top 5 --out target/demo_reversal.tsv
	cat target/demo_reversal.tsv
	./target/release/moltx repurpose --disease fixtures/repurpose/disease.tsv \
	  --signatures fixtures/repurpose/profiled.tsv --model fixtures/models/struct2sig \
	  --library fixtures/approved_drugs.csv --score cosine --out target/demo_candidates.tsv

test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) test
	$(CARGO) test --benches --no-run

lint: deps
	$(CARGO) clippy --all-targets -- -D warnings

bench: deps
	$(CARGO) bench
