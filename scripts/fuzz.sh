#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, through swiftc -sanitize=fuzzer,address) of the parsers of
# files users hand us: tokenizer.json (+ encode/decode), safetensors, config.json, task files,
# pretraining shards (+ manifest.json).
# Each target is compiled with its module's sources into one binary (Fuzz/*.swift holds the entry
# points) and run for SECONDS from the committed seeds in Fuzz/corpus/TARGET (new inputs it finds
# go to a scratch corpus under /tmp, not into the repository). A crash leaves its input in
# /tmp/fuzz/TARGET/crash-* and the script exits non-zero: turn each into a regression test.
# Leak detection is off: FoundationEssentials' FileManager.contents(atPath:) leaks 4 KB reading an
# empty file (seen here), which would stop every run at its first empty input.
#   bash scripts/fuzz.sh [SECONDS] [TARGET …]      targets: tokenizer-json safetensors config-json task-files shard
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}; shift || true
TARGETS=${*:-"tokenizer-json safetensors config-json task-files shard"}
OUT=/tmp/fuzz; mkdir -p "$OUT"
status=0
for target in $TARGETS; do
  case $target in
    tokenizer-json) sources=(Sources/Tokenizers/*.swift Sources/Tokenizers/*/*.swift Fuzz/FuzzTokenizerJSON.swift) ;;
    safetensors) sources=(Sources/SafeTensors/*.swift Fuzz/FuzzSafeTensors.swift) ;;
    config-json) sources=(Sources/ModelConfig/*.swift Fuzz/FuzzConfigJSON.swift) ;;
    task-files) sources=(Sources/Tokenizers/*.swift Sources/Tokenizers/*/*.swift Sources/Tasks/*.swift Fuzz/FuzzTaskFiles.swift) ;;
    # The shard reader and writer without the rest of PretrainingData (which needs Tensors and BLAS).
    shard) sources=(Sources/Tokenizers/*.swift Sources/Tokenizers/*/*.swift Sources/PretrainingData/{Shard,AtomicFile,TokenizedCorpus}.swift Fuzz/FuzzShard.swift) ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  dir=$OUT/$target; mkdir -p "$dir/corpus"
  # One module named after the first source folder (Tasks' `import Tokenizers` then names this very module).
  module=$(basename "$(dirname "${sources[0]}")")
  if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" -o "$dir/fuzz" "${sources[@]}" 2> "$dir/build.log"; then
    echo "$target: build failed (see $dir/build.log)" >&2; tail -5 "$dir/build.log" >&2; status=1; continue
  fi
  (cd "$dir" && rm -f crash-* timeout-* oom-* && ASAN_OPTIONS=detect_leaks=0 ./fuzz -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 -detect_leaks=0 \
      corpus "$OLDPWD/Fuzz/corpus/$target" > run.log 2>&1)
  rc=$?
  execs=$(grep -m1 "stat::number_of_executed_units" "$dir/run.log" | awk '{print $2}')
  echo "$target: ${execs:-?} executions in ${SECONDS_EACH}s, exit $rc$( [ $rc -ne 0 ] && echo " — crash input: $(ls "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | head -1)")"
  [ $rc -eq 0 ] || status=1
done
exit $status
