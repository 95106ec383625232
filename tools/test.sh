#!/usr/bin/env bash
# Builds glint and runs the whole test suite (CPU backend and the Vulkan path on whatever device exists; lavapipe
# in CI). Installs the Debian packages first when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
cd build && ctest --output-on-failure -j"$(nproc)"
