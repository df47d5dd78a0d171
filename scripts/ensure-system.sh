#!/usr/bin/env bash
# Install the Debian packages listed in scripts/system-packages.txt whose probe is missing.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while read -r probe pkg; do
  case "$probe" in ''|'#'*) continue;; esac
  if [[ "$probe" == /* ]]; then
    [[ -e "$probe" ]] && continue
  else
    command -v "$probe" >/dev/null 2>&1 && continue
    # sbin tools are not always on a non-root PATH
    [[ -x "/usr/sbin/$probe" || -x "/sbin/$probe" ]] && continue
  fi
  missing+=("$pkg")
done < "$here/system-packages.txt"
[[ ${#missing[@]} -eq 0 ]] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing system packages: ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "error: need root to apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
