#!/usr/bin/env bash
# Data parallelism under Open MPI, against the release binary (run by `make test` after the release
# smoke test; prints "mpi check: N passed, N failed"). On this 2-core machine, 2 ranks × 1 thread:
#   1. pretraining (RoBERTa recipe, 2 accumulated micro-batches, dropout 0): 2 ranks give the losses
#      of 1 process with the same global batch at every step, train and held-out; gradient sums
#      started during the backward pass (overlap_allreduce) give the same bits as sums after it;
#   2. fine-tuning (sentiment, dropout 0): the same, step by step;
#   3. resume under 2 ranks (dropout 0.1): a run cut at step 3 and resumed equals the uninterrupted
#      one bit for bit (metrics lines and exported weights);
#   4. a rank that fails ends the job with its message (MPI_Abort), never a hang; ranks that built
#      different models are refused.
set -uo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product pretrain >/dev/null || { echo "release build failed" >&2; exit 1; }
P=$PWD/.build/release/pretrain
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# Open MPI refuses root unless told, and more ranks than cores unless told (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe --bind-to none -np 2)
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# SPLIT KEY: "step value" per metrics line of that split, from a run folder.
column() { python3 -c "
import json, sys
for line in open(sys.argv[1] + '/metrics.jsonl'):
    r = json.loads(line)
    if r.get('split') == sys.argv[2]: print(r['step'], repr(r[sys.argv[3]]))" "$@"; }
# Same steps, values within a relative tolerance (float sums split across ranks round differently).
close() { python3 -c "
import sys
a = [l.split() for l in open(sys.argv[1])]; b = [l.split() for l in open(sys.argv[2])]
assert len(a) == len(b) and len(a) > 0, (len(a), len(b))
worst = max(abs(float(x[1]) - float(y[1])) / abs(float(x[1])) for x, y in zip(a, b) if x[0] == y[0])
assert all(x[0] == y[0] for x, y in zip(a, b)), 'steps differ'
print(f'{len(a)} values, largest relative difference {worst:.2e}')
assert worst < float(sys.argv[3]), worst" "$@"; }

# A corpus of real English from the OS packages: the start of the World English Bible.
if ! $P corpus build web --output "$T/corpus-all.txt" >/dev/null 2>&1; then
  echo "mpi check: the web corpus is missing (run scripts/setup.sh)" >&2; exit 1
fi
head -c 300000 "$T/corpus-all.txt" > "$T/corpus.txt"
PRE=(--recipe roberta --corpus "$T/corpus.txt" --set model=tiny --set batch_size=8 --set grad_accum=2 --set seq_len=64
     --set vocab_size=1000 --set log_every=1 --set eval_every=4 --set eval_batches=2 --set checkpoint_every=4)

# 1. Pretraining: 1 process × 2 threads vs 2 ranks × 1 thread, same global batch (8 × 2).
$P train "${PRE[@]}" --set dropout=0 --set max_steps=8 --out "$T/one" >"$T/one.log" 2>&1 || fail "1-process pretraining: $(tail -3 "$T/one.log")"
"${MPIRUN[@]}" $P train "${PRE[@]}" --set dropout=0 --set max_steps=8 --out "$T/two" >"$T/two.log" 2>&1 || fail "2-rank pretraining: $(tail -3 "$T/two.log")"
grep -q "2 ranks × 1 threads" "$T/two.log" && ok || fail "2 ranks on 2 cores should default to 1 thread each"
for split in train eval; do
  column "$T/one" $split loss > "$T/one.$split"; column "$T/two" $split loss > "$T/two.$split"
  if r=$(close "$T/one.$split" "$T/two.$split" 1e-5 2>&1); then ok; echo "pretraining $split loss, 1 process vs 2 ranks: $r"; else fail "pretraining $split losses differ: $r"; fi
done
# Sums started during the backward pass (overlap_allreduce) add the same numbers: the same bits.
"${MPIRUN[@]}" $P train "${PRE[@]}" --set dropout=0 --set max_steps=8 --set overlap_allreduce=true --set allreduce_bucket_mb=0.25 \
  --out "$T/overlap" >"$T/overlap.log" 2>&1 || fail "2-rank pretraining with overlap: $(tail -3 "$T/overlap.log")"
if cmp -s "$T/two.train" <(column "$T/overlap" train loss); then ok; else fail "overlapped sums changed the losses"; fi
column "$T/two" train comm_fraction > "$T/two.comm"
[ -s "$T/two.comm" ] && ok || fail "2-rank metrics lack comm_fraction"
# Rank 0 alone writes: one metrics line per step, not one per rank.
[ "$(wc -l < "$T/two.train")" -eq 8 ] && ok || fail "2-rank metrics.jsonl should have 8 train lines (rank 0 alone writes), has $(wc -l < "$T/two.train")"

# 2. Fine-tuning the model just trained (dropout 0 in its config): per-step losses.
FT=(--task sentiment --model "$T/one/model" --set max_train_examples=60 --set epochs=2 --set batch_size=8 --set max_length=48)
if [ -d data/pattern ]; then
  $P finetune "${FT[@]}" --out "$T/ft1" >"$T/ft1.log" 2>&1 || fail "1-process fine-tuning: $(tail -3 "$T/ft1.log")"
  "${MPIRUN[@]}" $P finetune "${FT[@]}" --out "$T/ft2" >"$T/ft2.log" 2>&1 || fail "2-rank fine-tuning: $(tail -3 "$T/ft2.log")"
  column "$T/ft1" train loss > "$T/ft1.train"; column "$T/ft2" train loss > "$T/ft2.train"
  if r=$(close "$T/ft1.train" "$T/ft2.train" 1e-5 2>&1); then ok; echo "fine-tuning train loss, 1 process vs 2 ranks: $r"; else fail "fine-tuning losses differ: $r"; fi
else
  fail "the sentiment task's data is missing (run scripts/setup.sh)"
fi

# 3. Resume under 2 ranks, with dropout on: cut at step 4 (a checkpoint), resumed to 8.
"${MPIRUN[@]}" $P train "${PRE[@]}" --set dropout=0.1 --set max_steps=8 --out "$T/full" >/dev/null 2>&1 || fail "2-rank run with dropout"
"${MPIRUN[@]}" $P train "${PRE[@]}" --set dropout=0.1 --set max_steps=4 --out "$T/cut" >/dev/null 2>&1 || fail "2-rank run cut at 4"
"${MPIRUN[@]}" $P train --resume --out "$T/cut" --set max_steps=8 >"$T/resume.log" 2>&1 || fail "2-rank resume: $(tail -3 "$T/resume.log")"
for split in train eval; do
  if cmp -s <(column "$T/full" $split loss) <(column "$T/cut" $split loss); then ok; else fail "resumed 2-rank $split losses differ from the uninterrupted run"; fi
done
cmp -s "$T/full/model/model.safetensors" "$T/cut/model/model.safetensors" && ok || fail "resumed 2-rank weights differ from the uninterrupted run"

# 4. A rank that fails stops the job: rank 1 names a recipe that does not exist while rank 0 prepares.
out=$(timeout 120 mpirun --oversubscribe --bind-to none -np 1 $P train "${PRE[@]}" --set max_steps=2 --out "$T/abort" : \
      -np 1 $P train --recipe no-such-recipe --corpus "$T/corpus.txt" --out "$T/abort" 2>&1); rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "no-such-recipe" <<<"$out" && grep -q "stopping every rank" <<<"$out"; then ok
else fail "a failing rank should end the job with its message (exit $rc): $(tail -4 <<<"$out")"; fi
# Ranks with different models (another seed) are refused before the first step.
out=$(timeout 120 mpirun --oversubscribe --bind-to none -np 1 $P train "${PRE[@]}" --set max_steps=2 --out "$T/differ" : \
      -np 1 $P train "${PRE[@]}" --set max_steps=2 --set seed=7 --out "$T/differ" 2>&1); rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "built a different model" <<<"$out"; then ok
else fail "ranks with different seeds should be refused (exit $rc): $(tail -4 <<<"$out")"; fi

echo "mpi check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
