#!/usr/bin/env bash
# Data-parallel throughput on this machine: 1 process × all cores' threads vs N ranks × (cores/N)
# threads, same recipe and global batch, alternated REPEATS times (the VM's speed drifts). Prints
# tokens/s of each and, for the ranks, the allreduce time and bytes per step and the fraction of
# the step spent in collectives (waiting for the slowest rank + summing the gradients), with the
# sums after the backward pass and started during it (overlap_allreduce; its wait is inside the sums).
#   bash scripts/bench/mpi-scaling.sh                  # roberta recipe, mini, batch 16×128
#   MODEL=tiny STEPS=40 RANKS=2 bash scripts/bench/mpi-scaling.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${MODEL:-mini} STEPS=${STEPS:-30} RANKS=${RANKS:-2} REPEATS=${REPEATS:-2}
BATCH=${BATCH:-16} SEQ=${SEQ:-128} ACCUM=${ACCUM:-1}
swift build -c release --product pretrain >/dev/null
P=$PWD/.build/release/pretrain
T=${T:-$(mktemp -d)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ -s "$T/corpus.txt" ] || { $P corpus build web --output "$T/all.txt" >/dev/null; head -c 3000000 "$T/all.txt" > "$T/corpus.txt"; }
CORES=$(nproc)
SETS=(--recipe roberta --corpus "$T/corpus.txt" --set model="$MODEL" --set batch_size="$BATCH" --set seq_len="$SEQ"
      --set grad_accum="$ACCUM" --set max_steps="$STEPS" --set log_every=5 --set eval_every=0 --set checkpoint_every=0
      --set vocab_size=8000)

# summary RUN: mean tokens/s (and collectives) over the log lines after the first (warm-up) one.
summary() { python3 -c "
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + '/metrics.jsonl') if '\"train\"' in l][1:]
mean = lambda k: sum(l.get(k, 0) for l in lines) / len(lines)
print(f\"{mean('tokens_per_s'):.0f} {mean('positions_per_s'):.0f} {mean('allreduce_s')*1e3:.1f} {mean('wait_s')*1e3:.1f} {mean('allreduce_bytes')/1e6:.2f} {mean('comm_fraction')*100:.1f}\")" "$1"; }

printf "%-26s %10s %12s %14s %10s %14s %10s\n" run tokens/s positions/s allreduce_ms wait_ms MB/step comm_%
for i in $(seq 1 "$REPEATS"); do
  rm -rf "$T/one" "$T/ranks"
  $P train "${SETS[@]}" --set threads="$CORES" --out "$T/one" >/dev/null 2>&1
  read -r tok pos _ _ _ _ <<<"$(summary "$T/one")"
  printf "%-26s %10s %12s %14s %10s %14s %10s\n" "1 × $CORES threads ($i)" "$tok" "$pos" - - - -
  for overlap in false true; do
    rm -rf "$T/ranks"
    mpirun --oversubscribe --bind-to none -np "$RANKS" $P train "${SETS[@]}" --set threads=$((CORES / RANKS > 0 ? CORES / RANKS : 1)) \
      --set overlap_allreduce=$overlap --out "$T/ranks" >/dev/null 2>&1
    read -r tok pos red wait mb comm <<<"$(summary "$T/ranks")"
    label="$RANKS ranks × $((CORES / RANKS))"; [ $overlap = true ] && label="$label overlap"
    printf "%-26s %10s %12s %14s %10s %14s %10s\n" "$label ($i)" "$tok" "$pos" "$red" "$wait" "$mb" "$comm"
  done
done
echo "model $MODEL, global batch ${BATCH}×${ACCUM} of $SEQ, $STEPS steps, $(nproc) cores; run folders in $T"
