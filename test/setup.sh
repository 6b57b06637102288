#!/usr/bin/env bash
# Set-up for the unit tests' PyTorch parity checks: Debian's python3-torch (with the OpenBLAS it runs on) for
# /usr/bin/python3, which runs ../shared/bench/torch_reference.py, the independent reference implementation.
# Without it those checks are skipped on a developer's machine and fail under CI=true. Safe to re-run: it does
# nothing when torch already imports. Needs root or sudo and the Debian archive.
set -euo pipefail

PY="${TORCH_PYTHON:-/usr/bin/python3}"
say() { echo "[test setup] $*"; }
# shellcheck source=test/aptInstall.sh
. "$(dirname "$0")/aptInstall.sh"

# zsh for the CLI's completion test (test/cli.completion.test.ts), which runs the zsh script in a real zsh.
command -v zsh >/dev/null 2>&1 || apt_install zsh

if "$PY" -c 'import torch' >/dev/null 2>&1; then
  say "torch $("$PY" -c 'import torch; print(torch.__version__)') present for $PY"
  exit 0
fi
say "python3-torch and libopenblas0-pthread: about 1 GB, a few minutes"
apt_install python3-torch libopenblas0-pthread
"$PY" -c 'import torch' || { say "torch still does not import for $PY after the install"; exit 1; }
say "done"
