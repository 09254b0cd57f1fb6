#!/usr/bin/env bash
# Creates .venv with the newest Python >= 3.12 (on PATH, else through pyenv) and installs
# the project with its dev extra. Re-run safely: it only reinstalls when pyproject changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP=$VENV/.installed

version_ok() {  # prints "major minor path" when $1 is a Python >= 3.12
  "$1" -c 'import sys; v=sys.version_info; sys.exit(0 if v >= (3, 12) else 1); ' 2>/dev/null || return 1
  "$1" -c 'import sys; print(sys.version_info[0], sys.version_info[1], sys.executable)'
}

find_python() {
  local candidates=() best="" best_minor=-1
  for name in python3.14 python3.13 python3.12 python3; do
    command -v "$name" >/dev/null 2>&1 && candidates+=("$(command -v "$name")")
  done
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root 2>/dev/null || echo "$root")"; fi
  for p in "$root"/versions/3.*/bin/python3; do [ -x "$p" ] && candidates+=("$p"); done
  for c in "${candidates[@]}"; do
    read -r major minor exe < <(version_ok "$c" || true) || continue
    [ -n "${minor:-}" ] || continue
    if [ "$minor" -gt "$best_minor" ]; then best_minor=$minor; best=$exe; fi
  done
  [ -n "$best" ] || return 1
  echo "$best"
}

if [ -x "$VENV/bin/python" ] && ! version_ok "$VENV/bin/python" >/dev/null; then
  echo "Existing $VENV has a Python older than 3.12: recreating it." >&2
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python); then
    echo "error: Callboard needs Python 3.12 or newer, and none was found on PATH or in pyenv." >&2
    echo "       Install one (e.g. 'pyenv install 3.13') and run this again." >&2
    exit 1
  fi
  echo "Creating $VENV with $PY ($("$PY" --version))" >&2
  "$PY" -m venv "$VENV"
  rm -f "$STAMP"
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "Installing Callboard and its dependencies into $VENV..." >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  touch "$STAMP"
fi
