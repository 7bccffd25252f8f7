#!/usr/bin/env bash
# Fetches the labeled corpora shipped in Debian's python3-pattern package (sentence polarity,
# CoNLL-2010 hedge cues, OANC POS tags) into data/pattern/ with `apt-get download` + `dpkg-deb -x`.
# The built-in fine-tuning tasks (docs/TASKS.md) read
# data/pattern/usr/share/doc/python3-pattern/test/corpora/.
# Idempotent; never committed (data/ is git-ignored; research/personal-use text).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/pattern
corpora="$dest/usr/share/doc/python3-pattern/test/corpora"
[ -f "$corpora/polarity-en-pang&lee2.csv" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download python3-pattern >/dev/null)
mkdir -p "$dest"
dpkg-deb -x "$tmp"/python3-pattern_*.deb "$dest"
[ -f "$corpora/polarity-en-pang&lee2.csv" ] || { echo "fetch-pattern: corpora not found in the package" >&2; exit 1; }
echo "fetched python3-pattern corpora into $corpora"
