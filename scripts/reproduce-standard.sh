#!/usr/bin/env bash
# The committed reproduction (README "Reproducing the articles' claims"): every claim of
# `pretrain reproduce` at the standard budget (three seeds), then the small run summaries copied
# into docs/runs/ (never checkpoints or models) and docs/REPORT.md, docs/plots/ and the README's
# results table rebuilt from them. Finished runs in OUT are kept and skipped, cut ones resumed:
#   bash scripts/reproduce-standard.sh [OUT]        # default runs/reproduce
set -euo pipefail
cd "$(dirname "$0")/.."
P=${PRETRAIN:-.build/release/pretrain}
OUT=${1:-runs/reproduce}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$(bash scripts/blas-coretype.sh)} OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4}
[ -x "$P" ] || swift build -c release --product pretrain
"$P" reproduce --budget standard --out "$OUT"
(cd "$OUT" && find runs -name summary.json) | while read -r f; do
  mkdir -p "docs/$(dirname "$f")"
  cp "$OUT/$f" "docs/$f"
done
"$P" reproduce --budget standard --out docs --report-only --readme README.md
