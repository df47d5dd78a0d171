#!/usr/bin/env bash
# Print the path of a hatch >= 1.16 (workspaces), installing it into .tools/venv if needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ok() { "$1" --version 2>/dev/null | awk '{split($3,v,"."); exit !(v[1]>1 || (v[1]==1 && v[2]>=16))}'; }
if command -v hatch >/dev/null 2>&1 && ok hatch; then command -v hatch; exit 0; fi
tool="$root/.tools/venv/bin/hatch"
if [[ -x "$tool" ]] && ok "$tool"; then echo "$tool"; exit 0; fi
py=$(command -v python3 || true)
if [[ -z "$py" ]] || ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq python3 python3-venv >/dev/null
  py=$(command -v python3)
fi
"$py" -m venv "$root/.tools/venv" >&2
"$root/.tools/venv/bin/pip" install -q --disable-pip-version-check "hatch>=1.16" >&2
echo "$tool"
