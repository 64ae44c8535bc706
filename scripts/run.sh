#!/usr/bin/env bash
# Installs the project and starts the app on the embedded default workspace (./workspace).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e .
exec streamlit run app.py "$@"
