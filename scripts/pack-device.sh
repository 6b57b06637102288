#!/usr/bin/env bash
# Packs what `bench/gpu.sh` needs on the device machine (one NVIDIA H200; no Node and no network there) into .device/
# (ignored by git; name it in the device run's `carry`), then prints its size and what would travel in all:
#   .device/payload.tar.xz  xz-compressed: the Node binary running this script (linux-x64), bench/gpu.bench.ts bundled
#                           into gpu.bench.js, onnxruntime-node with only its linux-x64 binaries, onnxruntime-common,
#                           and ../shared/bench/torch_reference.py (the PyTorch reference; ../shared does not travel)
#   .device/gl/*.deb        the Vulkan loader and glvnd packages (amd64) the device tool's README names, for WebGPU
#                           on the NVIDIA driver (downloaded once with apt-get; kept between packs)
# Usage: bash scripts/pack-device.sh   (from anywhere; about 3 minutes on 2 cores, mostly xz)
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.device
LIMIT_MIB=64
[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || { echo "pack-device.sh: packs linux-x64 binaries; run it on linux-x64" >&2; exit 1; }
NODE=$(command -v node)
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || { echo "pack-device.sh: needs Node 20 or later (found $(node --version))" >&2; exit 1; }
if ldd "$NODE" 2>/dev/null | grep -q libnode; then
  echo "pack-device.sh: $NODE links a shared libnode; use a self-contained Node binary (nodejs.org or nodesource)" >&2
  exit 1
fi
REF=../shared/bench/torch_reference.py
[ -f "$REF" ] || { echo "pack-device.sh: $REF not found (the project's shared folder beside the checkout)" >&2; exit 1; }
ORT=node_modules/onnxruntime-node
[ -f "$ORT/bin/napi-v6/linux/x64/onnxruntime_binding.node" ] || { echo "pack-device.sh: $ORT has no linux-x64 binding; run npm ci" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$PACK/gl"
node -e "
require('esbuild').build({ entryPoints: { 'gpu.bench': 'bench/gpu.bench.ts' }, outdir: process.argv[1], bundle: true,
  platform: 'node', target: 'node20', format: 'cjs', external: ['onnxruntime-node'], keepNames: true,
  logLevel: 'warning' }).catch(() => process.exit(1));" "$STAGE"
cp "$NODE" "$STAGE/node"
mkdir -p "$STAGE/node_modules/onnxruntime-node/bin/napi-v6/linux"
cp -r "$ORT/package.json" "$ORT/dist" "$STAGE/node_modules/onnxruntime-node/"
cp -r "$ORT/bin/napi-v6/linux/x64" "$STAGE/node_modules/onnxruntime-node/bin/napi-v6/linux/"
cp -r node_modules/onnxruntime-common "$STAGE/node_modules/"
cp "$REF" "$STAGE/torch_reference.py"
tar -C "$STAGE" -cf - . | xz -T0 -9 > "$PACK/payload.tar.xz.tmp"
mv "$PACK/payload.tar.xz.tmp" "$PACK/payload.tar.xz"

GL="libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2"
if ! ls "$PACK"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  (cd "$PACK/gl" && apt-get download $GL) || { echo "pack-device.sh: apt-get download $GL failed" >&2; exit 1; }
fi

pack=$(du -cb "$PACK" | tail -1 | cut -f1)
tree=$(git ls-files -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
others=$(git ls-files -z --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
total=$((pack + tree + ${others:-0}))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "packed $PACK: $(mib "$pack") (payload.tar.xz $(mib "$(stat -c %s "$PACK/payload.tar.xz")"), gl $(mib "$(du -cb "$PACK/gl" | tail -1 | cut -f1)"))"
echo "tracked files $(mib "$tree"), untracked not ignored $(mib "${others:-0}"): $(mib "$total") would travel (limit $LIMIT_MIB MiB)"
[ "$total" -lt $((LIMIT_MIB * 1048576)) ] || { echo "pack-device.sh: over the device tool's $LIMIT_MIB MiB" >&2; exit 1; }
