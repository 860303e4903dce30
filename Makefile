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

.PHONY: venv shipped-venv run sim test lint fmt unit bench peers image lock base-digest clean
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

## make test: installs what is missing (redis-server, Chromium, nginx, wrk, valgrind via apt-get as root), lints, runs every test.
test: venv
	./scripts/ensure-system-deps.sh chromium nginx wrk valgrind
	$(MAKE) --no-print-directory lint
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

## make base-digest: pin the Dockerfile's base image to the digest its tag has now (needs registry access).
base-digest:
	$(PYTHON) scripts/base_digest.py $(if $(DIGEST),--digest $(DIGEST))

clean:
	rm -rf $(VENV) $(SHIPPED) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
