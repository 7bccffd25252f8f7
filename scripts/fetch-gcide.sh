#!/usr/bin/env bash
# Fetches GCIDE (the Collaborative International Dictionary of English, GPL) from Debian's
# dict-gcide package into data/gcide/ (gcide.dict.dz, gcide.index) for the built-in corpus `gcide`.
# The package is not installed (it would pull in dictd); it is downloaded and unpacked only.
# Idempotent; never committed (data/ is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/gcide
[ -f "$dest/gcide.dict.dz" ] && [ -f "$dest/gcide.index" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download dict-gcide >/dev/null 2>&1) || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  (cd "$tmp" && apt-get download dict-gcide >/dev/null)
}
dpkg-deb -x "$tmp"/dict-gcide_*.deb "$tmp/x"
mkdir -p "$dest"
for f in gcide.dict.dz gcide.index; do
  cp "$tmp/x/usr/share/dictd/$f" "$dest/$f.part"
  mv "$dest/$f.part" "$dest/$f"
done
echo "fetched GCIDE into $dest"
