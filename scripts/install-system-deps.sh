#!/usr/bin/env bash
# Debian packages Ballast uses: QEMU's storage daemon serves attached volumes (qemu-system-common),
# and qemu-io / qemu-img / qemu-nbd are the NBD tools (qemu-utils). Installs only what is missing.
set -euo pipefail
if command -v qemu-storage-daemon >/dev/null && command -v qemu-io >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends qemu-utils qemu-system-common
