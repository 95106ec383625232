#!/usr/bin/env bash
# Builds glint and runs the whole test suite (CPU backend and the Vulkan path on whatever device exists; lavapipe
# in CI). Installs the Debian packages first when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
# ctest runs suites in parallel, each with its own OpenMP threads: spinning waiters would steal the cores the
# other suites need (measured: training steps 20x slower under that contention), so idle threads sleep.
export OMP_WAIT_POLICY=passive
cd build && ctest --output-on-failure -j"$(nproc)"
