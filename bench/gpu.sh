#!/usr/bin/env bash
# The device machine's side of the GPU benchmark (bench/gpu.bench.ts): unpacks .device/payload.tar.xz (made by
# scripts/pack-device.sh) into a temporary folder, sets up the Vulkan loader WebGPU needs where the machine lacks one
# (the .deb packages in .device/gl, unpacked into / as the device tool's README says: only as root on the NVIDIA
# machine), and runs the bundled benchmark with the packed Node, within GPU_BENCH_TIMEOUT_S (470 s) in all.
# Results: stdout, and $OUT/gpu-bench.json where the device tool sets OUT. The exact run command: CONTRIBUTING.md.
# A dry run on any linux-x64 machine (CPU provider standing in, no root needed):
#   GPU_BENCH_PROVIDERS=webgpu,cuda,cpu GPU_BENCH_TORCH_DEVICE=cpu GPU_BENCH_SUBNET=small bash bench/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PACK=${GPU_BENCH_PACK:-.device}
if [ ! -f "$PACK/payload.tar.xz" ]; then
  echo "bench/gpu.sh: $PACK/payload.tar.xz not found: run bash scripts/pack-device.sh first (and carry .device)" >&2
  exit 2
fi
started=$(date +%s)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
tar -xJf "$PACK/payload.tar.xz" -C "$D" || { echo "bench/gpu.sh: could not unpack $PACK/payload.tar.xz" >&2; exit 2; }
echo "unpacked in $(( $(date +%s) - started )) s: $("$D/node" --version), $(ls "$D/node_modules")"

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  if [ "$(id -u)" = 0 ] && [ -d /usr/local/nvidia ] && ls "$PACK"/gl/*.deb >/dev/null 2>&1; then
    for f in "$PACK"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    echo "installed the Vulkan loader from $PACK/gl"
  else
    echo "note: no Vulkan loader (libvulkan.so.1) here: webgpu will report why it could not start"
  fi
fi
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$ICD" ]; then export VK_DRIVER_FILES=$ICD; fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total,driver_version --format=csv

export ORT_DISABLE_TELEMETRY=1
export GPU_BENCH_OUT=${GPU_BENCH_OUT:-${OUT:-}}
left=$(( ${GPU_BENCH_TIMEOUT_S:-470} - ($(date +%s) - started) ))
timeout --signal=KILL "$left" "$D/node" "$D/gpu.bench.js"
rc=$?
[ $rc = 137 ] && echo "bench/gpu.sh: stopped at the ${GPU_BENCH_TIMEOUT_S:-470} s limit" >&2
echo "bench/gpu.sh: done in $(( $(date +%s) - started )) s (exit $rc)"
exit $rc
