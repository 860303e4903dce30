# syntax=docker/dockerfile:1
# The BFF's production image: `make image` (or `docker build --target runtime -t cyberark-bff .`).
# Two stages: `build` makes the wheel and a virtualenv of runtime dependencies; `runtime` copies only that
# virtualenv onto a fresh slim base, so no compiler, pip cache, source tree, simulator or tests ship.
# tests/deploy/test_image_replay.py replays this recipe (wheel, clean venv, non-root, read-only, this CMD/ENV).

# The base, pinned by digest so that a rebuild gets the same bytes: `make base-digest` moves it to what the tag
# points at now (scripts/base_digest.py; `make base-digest DIGEST=sha256:...` to set one you checked yourself).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from, and the lock: the simulator, tests and tooling never enter the build.
COPY requirements.lock pyproject.toml README.md ./
COPY app ./app
# --without-pip: the runtime venv gets no installer; the base image's pip installs into it from outside.
# The runtime dependencies are exactly requirements.lock (`make lock`), each file checked against its hash, and
# wheels only: every one ships manylinux wheels for CPython 3.11, so no compiler is needed here either. The app
# goes in last without dependencies, so nothing unlocked can enter the image.
RUN python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --require-hashes --no-deps --only-binary=:all: \
       -r requirements.lock \
    && pip wheel --no-deps --wheel-dir /wheels . \
    && pip --python /opt/venv/bin/python install --no-deps /wheels/cyberark_bff-*.whl

FROM ${PYTHON_IMAGE} AS runtime
# Where the image came from: `make image` passes the version from pyproject.toml, the commit and the remote.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="cyberark-bff" \
      org.opencontainers.image.description="Backend-for-frontend for CyberArk Identity" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
RUN groupadd --system --gid 10001 bff \
    && useradd --system --uid 10001 --gid bff --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin bff
COPY --from=build /opt/venv /opt/venv
# BFF_PORT, BFF_WORKERS: read by the command below, not by the app. BFF_TRUSTED_PROXIES feeds both the app's
# client-IP walk and uvicorn's --forwarded-allow-ips (empty: no proxy is believed). BFF_REVISION: the commit the
# image was built from, the `revision` label of the bff_build_info metric.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BFF_ENV=production \
    BFF_PORT=8000 \
    BFF_WORKERS=1 \
    BFF_TRUSTED_PROXIES="" \
    BFF_REVISION=$REVISION
# Nothing is written at run time (pip precompiled the bytecode), so the root filesystem can be read-only.
WORKDIR /srv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:' + os.environ['BFF_PORT'] + '/healthz', timeout=2)"]
# sh only to expand the variables; exec hands PID 1 to uvicorn so SIGTERM reaches it directly. --log-config: the
# JSON log config that ships in the package, so uvicorn's own lines (the parent process's start-up and
# shutdown included, before any app code runs) are JSON like the app's.
CMD ["sh", "-c", "exec uvicorn app.main:app --log-config /opt/venv/lib/python3.11/site-packages/app/observe/uvicorn_log.json --host 0.0.0.0 --port \"$BFF_PORT\" --workers \"$BFF_WORKERS\" --proxy-headers --forwarded-allow-ips \"$BFF_TRUSTED_PROXIES\" --no-server-header --no-access-log --timeout-graceful-shutdown 20"]
