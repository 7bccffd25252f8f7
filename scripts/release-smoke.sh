#!/usr/bin/env bash
# Bad input against the release binary, as users run it: each case must end with the expected
# exit status and a message naming the problem — never a crash (a signal), a hang or a silent
# success. Run by `make test` after `swift test`; prints "release smoke: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product pretrain >/dev/null || { echo "release build failed" >&2; exit 1; }
P=.build/release/pretrain
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
passed=0 failed=0
# expect STATUS PATTERN -- COMMAND…: runs it (60 s at most) and checks the status and the output.
expect() {
  local status=$1 pattern=$2; shift 3
  local out rc
  out=$(timeout 60 "$@" 2>&1); rc=$?
  if [ "$rc" -eq "$status" ] && grep -q -- "$pattern" <<<"$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL (exit $rc, wanted $status and '$pattern'): $*" >&2
    tail -5 <<<"$out" >&2
  fi
}
mk() { mkdir -p "$T/$1"; cat > "$T/$1/config.json"; }

# Sizes from a config file are held to limits before anything is allocated.
echo '{"model_type": "bert", "hidden_size": 1000000000, "num_attention_heads": 1}' | mk huge
expect 1 "hidden_size 1000000000 is above the limit" -- $P init --config "$T/huge/config.json" --out "$T/out-huge"
echo '{"model_type": "bert", "vocab_size": 4000000, "hidden_size": 32768, "num_attention_heads": 8}' | mk toobig
expect 1 "more than this machine's" -- $P init --config "$T/toobig/config.json" --out "$T/out-toobig"

# Tokenizer files: ids checked before allocation, the unknown token must exist, UTF-8 checked.
echo '{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 999999999}}}' > "$T/ids.json"
expect 1 "with only 2 tokens" -- $P tokenizer encode --tokenizer "$T/ids.json" "a"
echo '{"model": {"type": "WordPiece", "vocab": {"a": 0}}}' > "$T/unk.json"
expect 1 "unk_token" -- $P tokenizer encode --tokenizer "$T/unk.json" "a"
printf '{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a\xff": 1}}}' > "$T/utf8.json"
expect 1 "invalid UTF-8" -- $P tokenizer encode --tokenizer "$T/utf8.json" "a"

# A Split regex that backtracks without end is stopped; normalizer rules that grow without bound stop.
echo '{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}}}' > "$T/regex.json"
expect 1 "was stopped after" -- $P tokenizer encode --tokenizer "$T/regex.json" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"
python3 -c "import json; r={'type': 'Replace', 'pattern': {'String': 'a'}, 'content': 'a' * 1000}; print(json.dumps({'normalizer': {'type': 'Sequence', 'normalizers': [r] * 5}, 'model': {'type': 'WordPiece', 'vocab': {'[UNK]': 0, 'a': 1}}}))" > "$T/grow.json"
expect 1 "grow the text without bound" -- $P tokenizer encode --tokenizer "$T/grow.json" "aaaa"

# A model folder with a truncated weights file, or NaN weights.
$P init --config tiny --heads mlm --out "$T/model" >/dev/null
cp Tests/TokenizersTests/Fixtures/minilm_tokenizer.json "$T/model/tokenizer.json"
cp -r "$T/model" "$T/truncated"; head -c 100000 "$T/model/model.safetensors" > "$T/truncated/model.safetensors"
expect 1 "safetensors" -- $P fill-mask --model "$T/truncated" "a [MASK] b"
python3 - "$T/model/model.safetensors" "$T/nan" <<'PY'
import json, os, shutil, struct, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(os.path.dirname(src), dst)
data = bytearray(open(src, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
start = header["bert.embeddings.word_embeddings.weight"]["data_offsets"][0]
data[8 + n + start:8 + n + start + 4] = struct.pack("<f", float("nan"))
open(os.path.join(dst, "model.safetensors"), "wb").write(data)
PY
expect 1 "NaN or infinity" -- $P fill-mask --model "$T/nan" "a [MASK] b"

# Generation and perplexity need a causal LM; a GPT-2 refuses MLM objectives.
expect 1 "needs a causal LM head" -- $P generate --model "$T/model" "a b"
expect 1 "no causal LM head" -- $P eval --model "$T/model" --perplexity README.md
expect 1 "use objectives \[\"clm\"\]" -- $P recipe show roberta --set family=gpt2
$P init --config gpt2-tiny --out "$T/gpt" >/dev/null && cp Tests/ModelsTests/Fixtures/gpt2/tokenizer.json "$T/gpt/"
expect 1 "is causal" -- $P finetune --task wic --model "$T/gpt" --out "$T/ft-gpt" --set epochs=1

# Recipe settings that cannot train are refused before a run starts.
expect 1 "lr must be a positive number" -- $P recipe show roberta --set lr=-1
expect 1 "batch_size × seq_len" -- $P recipe show roberta --set batch_size=100000 --set seq_len=50000

# Fine-tuning a model with fewer positions than max_length (rows used to be written past each other).
python3 -c "import json; c=json.load(open('$T/model/config.json')); c['max_position_embeddings']=32; json.dump(c, open('$T/model/config.json','w'))"
$P init --config "$T/model/config.json" --heads mlm --out "$T/short" >/dev/null && cp "$T/model/tokenizer.json" "$T/short/"
if [ -d data/pattern ]; then
  expect 0 "the model has 32 positions" -- $P finetune --task pos --model "$T/short" --out "$T/ft" --set epochs=1 --set max_train_examples=16
fi
# A fine-tuning step whose loss is not finite stops with the named error before it reaches the weights.
if command -v diatheke >/dev/null && command -v bible >/dev/null; then
  expect 1 "on_nonfinite=skip" -- $P finetune --task paraphrase --model "$T/short" --out "$T/ft-nan" --set epochs=1 --set max_train_examples=256 --set batch_size=16 --set lr=1e8
fi

# pytorch_model.bin: a folder with only it is told to convert; convert never runs a pickle's code;
# the converted folder loads (the next complaint is the missing tokenizer, not the weights).
PT=Tests/PyTorchFilesTests/Fixtures
mkdir -p "$T/pt" && cp "$PT/bert/config.json" "$PT/bert/pytorch_model.bin" "$T/pt/"
expect 1 "pretrain convert" -- $P fill-mask --model "$T/pt" "a [MASK]"
expect 0 "26 tensors" -- $P convert "$T/pt"
expect 1 "tokenizer.json not found" -- $P fill-mask --model "$T/pt" "a [MASK]"
expect 1 "exists already" -- $P convert "$T/pt"
expect 0 "f16" -- $P convert "$T/pt" --dtype f16 --output "$T/pt/model-f16.safetensors"
expect 1 "would run code" -- $P convert "$PT/evil.bin" --output "$T/evil.safetensors"
[ -e "$T/evil.safetensors" ] && { failed=$((failed + 1)); echo "FAIL: convert wrote output for evil.bin" >&2; }
head -c 9000 "$PT/bert/pytorch_model.bin" > "$T/cut.bin"
expect 1 "truncated or damaged" -- $P convert "$T/cut.bin" --output "$T/cut.safetensors"

# The English–Spanish verse pairs (translation LM's data); an unknown corpus is named.
expect 0 "books aligned" -- $P corpus parallel web rv1909 --output "$T/pairs.tsv"
grep -q "^Psalms 23:1	.*shepherd.*	.*pastor" "$T/pairs.tsv" 2>/dev/null && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: Psalms 23:1 is not aligned in pairs.tsv" >&2; }
expect 1 "no built-in corpus 'klingon'" -- $P corpus parallel web klingon --output "$T/no.tsv"
# The pairs train the xlm-tlm recipe (retrieval at its evaluation); a damaged line is named.
expect 0 "retrieval_top1" -- $P train --recipe xlm-tlm --corpus "$T/pairs.tsv" --out "$T/tlm" --set max_steps=3 --set eval_batches=1 \
  --set heldout_books=Jonah --set vocab_size=500
head -3 "$T/pairs.tsv" > "$T/bad-pairs.tsv" && printf 'Genesis 1:4\tonly one side\n' >> "$T/bad-pairs.tsv"
expect 1 "line 4: 2 tab-separated fields" -- $P train --recipe xlm-tlm --corpus "$T/bad-pairs.tsv" --out "$T/tlm-bad"
expect 1 "'Nowhere' is not a book" -- $P train --recipe xlm-tlm --corpus "$T/pairs.tsv" --out "$T/tlm-book" --set heldout_books=Nowhere \
  --set vocab_size=500
# Permutation LM trains and exports a folder fill-mask reads.
head -2000 "$T/pairs.tsv" | cut -f2 | awk 'NR % 10 == 1 { print "" } { print }' > "$T/english.txt"
expect 0 "plm_accuracy" -- $P train --recipe xlnet-plm --corpus "$T/english.txt" --out "$T/plm" --set max_steps=3 --set eval_batches=1 \
  --set vocab_size=500
expect 0 "<mask>" -- $P fill-mask --model "$T/plm/model" "In the beginning <mask> created"
# One document: nothing to hold out, said, and the run trains without evaluation.
grep -v '^$' "$T/english.txt" > "$T/one-document.txt"
expect 0 "no document was held out" -- $P train --recipe roberta --corpus "$T/one-document.txt" --out "$T/one" --set max_steps=2 \
  --set vocab_size=500 --set model=tiny --set grad_accum=1
# reproduce: the claims listed, an unknown one named, a damaged summary named (not skipped), a
# README without markers named; the report of an empty folder lists every run as missing.
expect 0 "albert-sop" -- $P reproduce --list
expect 1 "no claim 'nope'" -- $P reproduce --claims nope --out "$T/repro"
expect 0 "incomplete" -- $P reproduce --report-only --claims albert-sop --out "$T/repro"
mkdir -p "$T/repro/runs/albert-sop/sop-seed1" && echo '{' > "$T/repro/runs/albert-sop/sop-seed1/summary.json"
expect 1 "is not a run summary" -- $P reproduce --report-only --claims albert-sop --out "$T/repro"
rm -rf "$T/repro/runs" && echo "no markers" > "$T/README.md"
expect 1 "reproduce:begin" -- $P reproduce --report-only --claims albert-sop --out "$T/repro" --readme "$T/README.md"

echo "release smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
