#!/usr/bin/env bash
# Create .venv/ and install Yidi with everything it needs, from the package registries only.
# Idempotent: re-runs only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    echo "bootstrap: Python 3.11 is required (found $("$PY" --version 2>&1))" >&2
    exit 1
fi
stamp=.venv/.yidi-installed
want=$(sha256sum pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade "pip>=24"
.venv/bin/python -m pip install --quiet -e ".[dev]"
# face_recognition declares a dependency on "dlib", which would compile from source; the
# prebuilt dlib-bin wheel (a declared dependency) provides the same module, so skip its deps.
.venv/bin/python -m pip install --quiet --no-deps "face_recognition>=1.3,<1.4"
.venv/bin/python -c "import face_recognition, ortools, sqlmodel, fastapi" 2>/dev/null
echo "$want" > "$stamp"
echo "bootstrap: .venv ready"
