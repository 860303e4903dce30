#!/usr/bin/env bash
# Checks a kustomize overlay before `kubectl apply -k`, and says what is missing in words, not kustomize's
# "evalsymlink failure": secret.env exists, sets every key secret.env.example sets (and
# CYBERARK_OAUTH_CLIENT_SECRET when the overlay turns the oauth login mode on), and no value is left at the
# example's "replace-me". Usage: scripts/k8s-check.sh deploy/kubernetes/overlays/<yours>   (or make k8s-check)
set -euo pipefail

overlay=${1:-}
if [ -z "$overlay" ] || [ ! -f "$overlay/kustomization.yaml" ]; then
  echo "usage: $0 OVERLAY_FOLDER (a folder with a kustomization.yaml, e.g. deploy/kubernetes/overlays/prod)" >&2
  exit 2
fi

secret="$overlay/secret.env"
example="$overlay/secret.env.example"
problems=()

# KEY names set (not commented out) in an env file.
keys() { sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$1"; }
value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

if [ ! -f "$secret" ]; then
  problems+=("$secret is missing: cp $example $secret, then put the real values in it (git ignores it)")
else
  needed=()
  [ -f "$example" ] && mapfile -t needed < <(keys "$example")
  if grep -Eq '^[[:space:]]*-[[:space:]]*BFF_LOGIN_MODES=.*oauth' "$overlay/kustomization.yaml"; then
    needed+=(CYBERARK_OAUTH_CLIENT_SECRET)
  fi
  for key in "${needed[@]}"; do
    if ! keys "$secret" | grep -qx "$key"; then
      problems+=("$secret does not set $key")
    elif [ -z "$(value "$secret" "$key")" ]; then
      problems+=("$secret sets $key to nothing")
    elif value "$secret" "$key" | grep -q 'replace-me'; then
      problems+=("$secret: $key still has the example's replace-me value")
    fi
  done
fi

if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}" >&2
  exit 1
fi
echo "$overlay: ready for kubectl apply -k $overlay"
