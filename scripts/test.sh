#!/usr/bin/env bash
# Installs the project with its test extras (and Debian's chromium for the browser journey),
# then runs the whole test suite. Extra arguments go to pytest, e.g. `scripts/test.sh -k ingest`.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install -q -e ".[test,dev]"
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
python -m pytest "$@"
