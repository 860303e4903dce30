#!/usr/bin/env bash
# The peers harness (kept outside this repository) with this BFF added as target `bff`, on .venv-shipped.
#   ./bench/peers.sh ../shared/peers --runs 3
#   ./bench/peers.sh ../shared/peers --targets node --runs 3 --json results/x.json
# One worker, every feature on, uvloop and httptools as the image runs it. BFF_PROXY_MAX_IN_FLIGHT=64: wrk
# drives all 32 connections with one session, past the default cap of 16 calls in flight per session.
# BFF_PYTHON picks another interpreter (e.g. .venv/bin/python for the dev build's figures).
set -euo pipefail
peers=${1:?usage: bench/peers.sh PEERS_DIR [bench.sh options]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
python=${BFF_PYTHON:-$root/.venv-shipped/bin/python}
[ -x "$python" ] || { echo "bench/peers.sh: $python missing (make shipped-venv)" >&2; exit 2; }
secret="peers-bench-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "BFF interpreter: $("$python" -c 'import platform, sys; print(platform.python_implementation(), platform.python_version(), "built at", sys._base_executable)') ($python)" >&2
common="CYBERARK_TENANT_URL=\$UPSTREAM_URL BFF_REDIS_URL=\$REDIS_URL BFF_SESSION_SECRETS=$secret BFF_COOKIE_SECURE=false"
export BFF_CWD=$root
export BFF_CMD="export $common BFF_PROXY_MAX_IN_FLIGHT=64; exec $python -m uvicorn app.main:app --host 127.0.0.1 --port \$BFF_PORT --loop uvloop --http httptools --no-access-log"
export BFF_SEED_CMD="$common $root/.venv/bin/python -m bench.seed --token \"\$BENCH_TOKEN\""
exec "$peers/bench.sh" "$@"
