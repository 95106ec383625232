#!/usr/bin/env bash
# Installs what glint needs to build and test on Debian 12 (all Debian packages; lavapipe is the Vulkan device
# on machines without a GPU). Uses sudo when not root.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
pkgs=(g++ make cmake pkg-config libvulkan-dev mesa-vulkan-drivers glslc spirv-tools libopenblas-dev libopenblas-openmp-dev
      nlohmann-json3-dev libspdlog-dev libgtest-dev vulkan-validationlayers libcli11-dev
      libpcre2-dev libutf8proc-dev libpng-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
