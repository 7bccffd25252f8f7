#!/usr/bin/env bash
# Side by side: the release binary as shipped (bounds and overflow checks kept everywhere but the
# numeric layers) against the same sources built -Ounchecked everywhere (as before the checked
# split, PRETRAIN_UNCHECKED_EVERYWHERE=1 into its own build folder). Each benchmark runs
# alternately ROUNDS times per binary; prints the median of each and the ratio checked/unchecked
# (1.00 = same speed; run-to-run noise here is a few percent).
#   bash scripts/bench/checked-vs-unchecked.sh [ROUNDS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$(bash scripts/blas-coretype.sh)}
swift build -c release --product pretrain >/dev/null
PRETRAIN_UNCHECKED_EVERYWHERE=1 swift build -c release --product pretrain --scratch-path .build/unchecked >/dev/null
CHECKED=.build/release/pretrain UNCHECKED=.build/unchecked/release/pretrain
TOKENIZER=Tests/TokenizersTests/Fixtures/minilm_tokenizer.json
CORPUS=$(mktemp); trap 'rm -f "$CORPUS"' EXIT
$CHECKED corpus build kjv --output "$CORPUS" >/dev/null

# name | arguments of the binary | key (dotted) of the throughput in its JSON line
BENCHES=(
  "train mlm tiny|bench train --json --config tiny --steps 10|tokens_per_s"
  "train mlm mini|bench train --json --config mini --steps 5|tokens_per_s"
  "train rtd tiny|bench train --json --config tiny --objective rtd --steps 10|tokens_per_s"
  "infer embed mini|bench infer --json --config mini --steps 20|tokens_per_s"
  "infer fill-mask tiny|bench infer --json --config tiny --task fill-mask --steps 20|tokens_per_s"
  "tokenizer encode (MiniLM)|bench tokenizers --corpus $CORPUS --tokenizer minilm=$TOKENIZER --encode-mb 4 --train-vocab 0 --long-line-mb 0|minilm.single_mb_s"
)
value() {  # value JSON KEY (dotted path)
  python3 -c "import json,sys; v=json.loads(sys.argv[1])
for k in sys.argv[2].split('.'): v=v[k]
print(v)" "$1" "$2"
}
printf "%-28s %14s %14s %8s\n" benchmark checked unchecked ratio
for bench in "${BENCHES[@]}"; do
  IFS='|' read -r name args key <<<"$bench"
  a=() b=()
  for _ in $(seq 1 "$ROUNDS"); do
    a+=("$(value "$($CHECKED $args 2>/dev/null | tail -1)" "$key")")
    b+=("$(value "$($UNCHECKED $args 2>/dev/null | tail -1)" "$key")")
  done
  python3 - "$name" "${a[*]}" "${b[*]}" <<'PY'
import statistics, sys
name, a, b = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"{name:<28} {ma:14.1f} {mb:14.1f} {ma / mb:8.3f}")
PY
done
