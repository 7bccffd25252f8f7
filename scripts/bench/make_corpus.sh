#!/usr/bin/env bash
# Builds the tokenizer benchmark corpus (real English text from OS packages, ~55 MB, one
# paragraph/line per line) at $1 (default /tmp/tok-bench/corpus.txt). Nothing is committed.
#   GCIDE 1913 Webster dictionary (dict-gcide, extracted with dpkg-deb), WordNet glosses
#   (wordnet-base), King James Bible (bible-kjv), Python 3.11 docs sources (python3.11-doc, dpkg-deb).
set -euo pipefail
out=${1:-/tmp/tok-bench/corpus.txt}
dir=$(dirname "$out"); mkdir -p "$dir"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
dpkg -s wordnet-base >/dev/null 2>&1 || $SUDO apt-get install -y -qq wordnet-base >/dev/null
dpkg -s bible-kjv >/dev/null 2>&1 || $SUDO apt-get install -y -qq bible-kjv >/dev/null
if [ ! -f "$dir/gcide/usr/share/dictd/gcide.dict.dz" ]; then
  (cd "$dir" && apt-get download dict-gcide >/dev/null 2>&1 && dpkg-deb -x dict-gcide_*.deb gcide)
fi
if [ ! -d "$dir/pydoc" ]; then
  (cd "$dir" && apt-get download python3.11-doc >/dev/null 2>&1 && dpkg-deb -x python3.11-doc_*.deb pydoc)
fi
{
  zcat "$dir/gcide/usr/share/dictd/gcide.dict.dz" | sed -e 's/^[[:space:]]*//' -e '/^$/d'
  for f in noun verb adj adv; do grep -v '^  ' /usr/share/wordnet/data.$f | sed -e 's/^[^|]*| //' -e 's/[[:space:]]*$//'; done
  COLUMNS=100000 bible "Gen1:1-Rev22:21" 2>/dev/null | sed -e '/^$/d'
  find "$dir/pydoc" -path '*_sources*' -name '*.txt' | sort | xargs cat | sed -e 's/^[[:space:]]*//' -e '/^$/d'
} | iconv -f UTF-8 -t UTF-8 -c > "$out"   # GCIDE has a few non-UTF-8 bytes: dropped
ls -la "$out"
