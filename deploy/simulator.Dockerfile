# syntax=docker/dockerfile:1
# The tenant simulator, for the compose `demo` profile only (never the BFF image, never production):
#   docker build -f deploy/simulator.Dockerfile -t cyberark-bff-simulator .
# It needs only FastAPI and uvicorn; the BFF's own code is not copied in.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91
FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN pip install "fastapi>=0.115,<1" "uvicorn>=0.30,<1" \
    && groupadd --system --gid 10002 sim \
    && useradd --system --uid 10002 --gid sim --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin sim
WORKDIR /srv
COPY simulator ./simulator
USER 10002:10002
EXPOSE 9001
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9001/_sim/clock', timeout=2)"]
CMD ["python", "-m", "simulator", "--host", "0.0.0.0", "--port", "9001"]
