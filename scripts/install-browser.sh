#!/usr/bin/env bash
# Installs Debian's Chromium, which the browser tests drive headless and whose bundled SwiftShader
# gives WebGPU (in Chromium and in Node through Dawn) on machines without a GPU.
set -euo pipefail
chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium_path" ]; then
  echo "Chromium found at $chromium_path"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "Chromium is missing at $chromium_path and apt-get is not available: install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
echo "Installed $("$chromium_path" --version 2>/dev/null || echo chromium)"
