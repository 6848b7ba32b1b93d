#!/usr/bin/env bash
# Debian packages Ballast uses. Installs only what is missing, group by group:
# - QEMU: the storage daemon serves attached volumes (qemu-system-common); qemu-io / qemu-img /
#   qemu-nbd are the NBD tools (qemu-utils).
# - InfluxDB 1.x (influxdb): the production telemetry store; its tests start a real influxd.
# - The OpenStack `cinder` client (python3-cinderclient): tests drive Ballast's Cinder API with it.
# - Chromium (chromium): the simulator's HTML report is rendered headless and its pixels checked.
# The real OpenStack Cinder of the Cinder control-plane tests is brought up by
# scripts/realcinder/setup.sh (its own packages), which the test setup runs.
set -euo pipefail
missing=()
if ! command -v qemu-storage-daemon >/dev/null || ! command -v qemu-io >/dev/null; then
  missing+=(qemu-utils qemu-system-common)
fi
if ! command -v influxd >/dev/null; then
  missing+=(influxdb)
fi
if ! command -v cinder >/dev/null; then
  missing+=(python3-cinderclient)
fi
if ! command -v chromium >/dev/null; then
  missing+=(chromium)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
