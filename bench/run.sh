#!/usr/bin/env bash
# make bench: installs wrk and nginx when missing (apt-get, as root), then runs bench/harness.py.
#   ./bench/run.sh --runs 3            three rounds, medians
#   ./bench/run.sh --targets bff,bff2  only the BFF, one and two workers
set -euo pipefail
cd "$(dirname "$0")/.."
missing=""
for tool in nginx wrk redis-server; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench: missing$missing (apt-get install nginx wrk redis-server)" >&2
    exit 2
  fi
  echo "bench: installing$missing" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk redis-server >/dev/null
fi
exec .venv/bin/python -m bench.harness "$@"
