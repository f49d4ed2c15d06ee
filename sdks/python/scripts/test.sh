#!/usr/bin/env bash
# `npm run test:python`: the Python SDK's checks with Debian's Python (/usr/bin/python3; a pyenv or other
# python3 on PATH cannot see Debian's python3-httpx, python3-jwt, python3-cryptography): mypy --strict,
# then pytest against a real server the test session starts. Under CI=true a missing interpreter or
# package fails the run; on a developer's machine it is reported and skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=/usr/bin/python3
missing=()
if [[ ! -x $PYTHON ]]; then
  missing=(python3)
else
  for module in httpx jwt cryptography pytest mypy venv ensurepip; do
    "$PYTHON" -c "import $module" >/dev/null 2>&1 || missing+=("$module")
  done
fi
if ((${#missing[@]} > 0)); then
  message="the Python SDK tests need ${missing[*]} (apt-get install python3-httpx python3-jwt"
  message+=" python3-cryptography python3-pytest python3-mypy python3-venv)"
  if [[ ${CI:-} == true ]]; then
    echo "test:python FAILED: $message" >&2
    exit 1
  fi
  echo "test:python SKIPPED: $message" >&2
  exit 0
fi

echo "mypy --strict (sdks/python/src/cohera)"
"$PYTHON" -m mypy --strict
PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -m pytest -q "$@"
