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

.PHONY: venv run sim test lint fmt unit bench image lock base-digest clean k8s-check
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

bench: venv
	./bench/run.sh

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
