#!/usr/bin/env bash
# Packs a Release build for a GPU machine that has a driver but none of glint's build dependencies: the binaries,
# libglint and the shared libraries they need (OpenBLAS, spdlog, the Vulkan loader, libglvnd for NVIDIA's ICD) into
# .gpu/*.tar.xz beside this checkout. benchmarks/gpu/run.sh unpacks and runs them there. How the figures of
# docs/benchmarks.md's H200 section were taken.
#   benchmarks/gpu/pack.sh        (after cmake --build build)
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu
s=$(mktemp -d); trap 'rm -rf "$s"' EXIT
mkdir -p "$s/bin" "$s/lib" "$s/blas" "$s/gl"
cp build/glint build/tests/glint_tests "$s/bin/"
for b in build/benchmarks/bench_*; do [ -f "$b" ] && [ -x "$b" ] && cp "$b" "$s/bin/"; done
cp -L build/libglint.so.0 "$s/lib/"
lib() { ldconfig -p | awk -v l="$1" '$1 == l && /x86-64/ {print $NF; exit}'; }
for l in libfmt.so.9 libgcc_s.so.1 libgomp.so.1 libpcre2-8.so.0 libspdlog.so.1.10 libstdc++.so.6 libutf8proc.so.2 \
         libvulkan.so.1 libpng16.so.16 libz.so.1; do
  f=$(lib "$l"); [ -n "$f" ] && cp -L "$f" "$s/lib/"
done
# The OpenBLAS build libglint resolves (Debian's OpenMP one), with what it needs.
for f in $(ldd build/libglint.so.0 | awk '/libopenblas|libgfortran|libquadmath/ {print $3}'); do cp -L "$f" "$s/blas/"; done
for l in libGLdispatch.so.0 libGLX.so.0 libEGL.so.1 libOpenGL.so.0 libGL.so.1 libGLESv2.so.2; do
  f=$(lib "$l"); [ -n "$f" ] && cp -L "$f" "$s/gl/"
done
strip "$s"/bin/* "$s/lib/libglint.so.0"
tar cJf .gpu/bundle.tar.xz -C "$s" bin lib
[ -f .gpu/libs.tar.xz ] || tar cJf .gpu/libs.tar.xz -C "$s/blas" . # OpenBLAS: large and unchanging, packed once
[ -f .gpu/gl.tar.xz ] || tar cJf .gpu/gl.tar.xz -C "$s/gl" .
ls -la .gpu
