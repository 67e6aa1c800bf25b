#!/usr/bin/env bash
# GPU check (one command, a few minutes): the hf adapter on CUDA sees what it sees on CPU; vllm too where installed.
# Needs a CUDA GPU, PyTorch and transformers; no network. See bench/gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}"
"$PYTHON" -c 'import tempeval' 2>/dev/null || "$PYTHON" -m pip install --quiet --no-deps -e .
exec "$PYTHON" bench/gpu_check.py "$@"
