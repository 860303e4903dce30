# One entry point per task, for people and CI alike.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HASH := $(shell cat pyproject.toml | sha256sum | cut -c1-16)
# Two stamps: `make run` needs only the runtime dependencies; tests, lint and bench add the dev tools.
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
STAMP := $(VENV)/.installed-dev-$(HASH)
HOST ?= 127.0.0.1
PORT ?= 8000
SIM_PORT ?= 9001

.PHONY: venv shipped-venv run sim test lint fmt unit bench peers image lock base-digest clean js js-types k8s-check
IMAGE ?= cyberark-bff:latest

$(RUN_STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	# The image's exact runtime dependencies first (hash-checked), so runs and tests use what ships.
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check -e .
	@rm -f $(VENV)/.installed-run-* && touch $@

$(STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-dev-* && touch $@

venv: $(STAMP)

## make shipped-venv: .venv-shipped, requirements.lock on Debian's packaged CPython 3.11 (built with PGO and LTO,
## like the image's python:3.11-slim; installed with apt-get when missing): the interpreter the benchmarks run the
## BFF on, so their figures are the image's rather than a dev build's.
SHIPPED_PYTHON ?= /usr/bin/python3.11
SHIPPED := .venv-shipped
SHIPPED_STAMP := $(SHIPPED)/.installed-$(shell cat requirements.lock | sha256sum | cut -c1-16)
$(SHIPPED_STAMP): requirements.lock
	./scripts/ensure-system-deps.sh python3.11 python3.11-venv
	@test -x $(SHIPPED)/bin/python || $(SHIPPED_PYTHON) -m venv $(SHIPPED)
	$(SHIPPED)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@rm -f $(SHIPPED)/.installed-* && touch $@

shipped-venv: $(SHIPPED_STAMP)

# The browser client package (clients/js) and the example app: node_modules is reinstalled (`npm ci`) only when
# the lockfile changes, as the venv is only when pyproject.toml does.
JS := clients/js
EXAMPLE := examples/react-vite
JS_STAMP := $(JS)/node_modules/.installed-$(shell cat $(JS)/package-lock.json | sha256sum | cut -c1-16)
EXAMPLE_STAMP := $(EXAMPLE)/node_modules/.installed-$(shell cat $(EXAMPLE)/package-lock.json | sha256sum | cut -c1-16)

$(JS_STAMP): $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund
	@touch $@

$(EXAMPLE_STAMP): $(EXAMPLE)/package-lock.json
	cd $(EXAMPLE) && npm ci --no-audit --no-fund
	@touch $@

## make js: the browser client package built, type-checked and unit-tested (vitest); the example app's
## node_modules in place (tests/browser builds and drives it).
js: $(JS_STAMP) $(EXAMPLE_STAMP)
	cd $(JS) && npm run build && npm test

## make js-types: after a change to the BFF's /openapi.json: the committed document, the package's generated
## types, its build and web/'s copy of it, all regenerated (commit what changed).
js-types: venv $(JS_STAMP)
	$(PY) scripts/gen_js_client.py openapi
	cd $(JS) && npm run gen:types && npm run build
	$(PY) scripts/gen_js_client.py vendor

## make run: the BFF on http://$(HOST):$(PORT) with the built-in simulator as tenant and an in-process store
## (installs the runtime dependencies only).
run: $(RUN_STAMP)
	$(PY) scripts/run_dev.py --host $(HOST) --port $(PORT) --sim-port $(SIM_PORT)

## make sim: the tenant simulator alone.
sim: $(RUN_STAMP)
	$(PY) -m simulator --port $(SIM_PORT)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

fmt: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## make test: installs what is missing (redis-server, Chromium, nginx, wrk, valgrind via apt-get as root), lints,
## builds and unit-tests the browser client (npm ci only when its lockfile changed), runs every test.
test: venv
	./scripts/ensure-system-deps.sh chromium nginx wrk valgrind
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory js
	$(PY) -m pytest --cov --cov-report=term -p no:cacheprovider $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest -x -q $(PYTEST_ARGS)

bench: venv shipped-venv
	./bench/run.sh

## make peers PEERS=../shared/peers: the peers harness (kept outside this repository) with this BFF added as
## target `bff` on .venv-shipped; PEERS_ARGS='--runs 3' by default.
PEERS ?= ../shared/peers
PEERS_ARGS ?= --runs 3
peers: venv shipped-venv
	./bench/peers.sh $(PEERS) $(PEERS_ARGS)

## make image: the production image (needs a Docker engine), and the simulator image for the compose demo.
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE ?= $(shell git remote get-url origin 2>/dev/null)
image:
	docker build --target runtime -t $(IMAGE) --build-arg VERSION=$(VERSION) \
		--build-arg REVISION=$(REVISION) --build-arg SOURCE=$(SOURCE) .
	docker build -f deploy/simulator.Dockerfile -t cyberark-bff-simulator:latest .

## make lock: requirements.lock, the runtime dependencies of pyproject.toml pinned with hashes (for the image and
## the venv). Run it after changing `dependencies`; it keeps the other pins. `make lock UPGRADE=1` moves all pins.
lock: venv
	$(PY) -m uv pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
		$(if $(UPGRADE),--upgrade) --custom-compile-command "make lock" --output-file requirements.lock

## make k8s-check OVERLAY=deploy/kubernetes/overlays/<yours>: what the overlay still lacks (secret.env and its
## values) before `kubectl apply -k`, said plainly.
OVERLAY ?= deploy/kubernetes/overlays/example
k8s-check:
	./scripts/k8s-check.sh $(OVERLAY)

## make base-digest: pin the Dockerfile's base image to the digest its tag has now (needs registry access).
base-digest:
	$(PYTHON) scripts/base_digest.py $(if $(DIGEST),--digest $(DIGEST))

clean:
	rm -rf $(VENV) $(SHIPPED) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
