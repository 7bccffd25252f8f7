#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine (run as root, or with sudo present).
# Idempotent: packages already installed are skipped, so it is cheap to run before every build.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages, one per line in scripts/apt-packages.txt (comments start with #).
mapfile -t wanted < <(sed -e 's/#.*//' scripts/apt-packages.txt | awk 'NF {print $1}')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
  echo "setup: Swift 6 is required (https://www.swift.org/install); 'swift' is not on PATH." >&2
  exit 1
fi
bash scripts/fetch-minilm.sh
bash scripts/fetch-gcide.sh
bash scripts/fetch-pattern.sh
