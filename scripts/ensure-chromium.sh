#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (Playwright drives it;
# no browser is downloaded from anywhere else). Prints where it is.
set -euo pipefail

find_chromium() {
  for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if path=$(find_chromium); then echo "$path"; exit 0; fi

echo "Chromium is missing: installing Debian's chromium package..." >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "error: Chromium is not installed and this user cannot run apt-get (not root, no sudo)." >&2
    echo "       Install it with: apt-get install chromium   (or set CHROMIUM_PATH)" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: Chromium is not installed and apt-get is not available. Set CHROMIUM_PATH to a Chromium binary." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2; }; then
  echo "error: apt-get could not install chromium; the browser tests cannot run." >&2
  exit 1
fi
if path=$(find_chromium); then echo "$path"; exit 0; fi
echo "error: chromium was installed but no binary was found at /usr/bin/chromium." >&2
exit 1
