#!/usr/bin/env bash
# Create .venv and install aigc-label (plus test extras with --test) and the
# external checkers the tests use (exiftool, ffmpeg) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ "${1:-}" = "--test" ]; then
  need=()
  command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
  command -v ffmpeg >/dev/null || need+=(ffmpeg)
  command -v sox >/dev/null || need+=(sox)
  perl -MArchive::Zip -e1 2>/dev/null || need+=(libarchive-zip-perl)
  command -v espeak-ng >/dev/null || need+=(espeak-ng)
  command -v chromium >/dev/null || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
      echo "setup: please install: ${need[*]}" >&2
    fi
  fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  # the reference SD watermark encoder, for tests only; its declared deps pull torch
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps invisible-watermark==0.2.0
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
