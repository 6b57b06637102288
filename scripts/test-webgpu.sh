#!/usr/bin/env bash
# npm run test:webgpu — the WebGPU provider's tests (test/webgpu/). On a machine without a Vulkan driver of its own
# (no ICD file under /usr/share/vulkan/icd.d or /etc/vulkan/icd.d, VK_ICD_FILENAMES unset), it first sets up Mesa's
# lavapipe, a Vulkan driver that runs on the CPU, with ../shared/scripts/lavapipe.sh (installed into
# ~/.cache/lavapipe the first time, from Debian bookworm-backports; root and Debian's mirror needed once).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
  # shellcheck source=/dev/null
  source ../shared/scripts/lavapipe.sh
fi
export ORT_DISABLE_TELEMETRY=1
exec node --import tsx --test --test-reporter=spec test/webgpu/*.test.ts
