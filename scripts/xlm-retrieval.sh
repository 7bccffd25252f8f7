#!/usr/bin/env bash
# XLM's claim at CPU scale (README "Translation LM"): cross-lingual verse retrieval on held-out
# books after MLM on English and Spanish alone (tlm_ratio=0) vs MLM + TLM (tlm_ratio=0.5), at the
# same training compute (max_train_flops: warm-up and decay run over the budget, max_steps=20000 only sets
# their scale), seeds 1-3. Run by hand (about 35 minutes on 2 cores):
#   bash scripts/xlm-retrieval.sh [OUT]        # finished runs are kept and skipped
set -euo pipefail
cd "$(dirname "$0")/.."
P=${PRETRAIN:-.build/release/pretrain}
OUT=${1:-runs/xlm-retrieval}
FLOPS=${FLOPS:-4e13}   # about 3,600 steps with TLM (1.1e10 FLOPs each), 5,700 without (7e9)
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$(bash scripts/blas-coretype.sh)} OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4}
mkdir -p "$OUT"
[ -x $P ] || swift build -c release --product pretrain
[ -s "$OUT/web-rv1909.tsv" ] || $P corpus parallel web rv1909 --output "$OUT/web-rv1909.tsv"
for seed in 1 2 3; do
  for ratio in 0 0.5; do
    run="$OUT/tlm$ratio-seed$seed"
    [ -f "$run/model/config.json" ] && continue
    rm -rf "$run"
    echo "== tlm_ratio=$ratio seed=$seed"
    $P train --recipe xlm-tlm --corpus "$OUT/web-rv1909.tsv" --out "$run" --set tlm_ratio=$ratio --set seed=$seed \
      --set max_train_flops=$FLOPS --set max_steps=20000 --set warmup_steps=600 2>&1 | grep "held-out"
  done
done
python3 - "$OUT" <<'PY'
import json, statistics, sys, glob, os
out = sys.argv[1]
def last_eval(run):
    evals = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if '"eval"' in l]
    return evals[-1]
print("| objectives | tlm_ratio | steps | train FLOPs | held-out MLM accuracy | retrieval top-1 en→es | es→en | chance |")
print("|---|---|---|---|---|---|---|---|")
for ratio, name in (("0", "MLM (each language alone)"), ("0.5", "MLM + TLM")):
    rows = [last_eval(r) for r in sorted(glob.glob(f"{out}/tlm{ratio}-seed*"))]
    if not rows: continue
    def ms(key):
        v = [r[key] for r in rows]
        return f"{statistics.mean(v):.3f} ± {statistics.stdev(v) if len(v) > 1 else 0:.3f}"
    print(f"| {name} | {ratio} | {rows[0]['step']} | {rows[0]['train_flops']:.2e} | {ms('mlm_accuracy')} | {ms('retrieval_top1')} | {ms('retrieval_top1_reverse')} | {rows[0]['retrieval_chance']:.4f} |")
print(f"\n{len(glob.glob(out + '/tlm*-seed*'))} runs (3 seeds each): mean ± sd")
PY
