#!/usr/bin/env bash
# Builds the Examples package (which depends on this one by path, as a user's package would) and
# runs both programs, checking what they print; then builds the DocC catalog. Run by `make test`;
# prints "examples: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
swift build -c release --package-path Examples >/dev/null || { echo "examples: the Examples package does not build" >&2; exit 1; }
passed=0 failed=0
check() { if grep -q -- "$1" <<<"$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: wanted '$1' in:" >&2; echo "$2" >&2; fi; }

out=$(Examples/.build/release/SemanticSearch 2>&1)
# Each query's best match is the line right under it.
best() { grep -A1 -- "$1" <<<"$out" | tail -1; }
check "In the beginning God created" "$(best 'Who made the world')"
check "The cat sat on the mat" "$(best 'a pet that purrs')"
check "Boil the water" "$(best 'How do I cook pasta')"

out=$(Examples/.build/release/FineTuneAndPredict 2>&1 | grep -v '^step')
accuracy=$(sed -n 's/.*dev accuracy \([0-9.]*\).*/\1/p' <<<"$out")
if python3 -c "import sys; sys.exit(0 if float('${accuracy:-0}') > 0.7 else 1)"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: fine-tuned dev accuracy '${accuracy}' ≤ 0.7: $out" >&2; fi
check "beautifully acted film. → positive" "$out"
check "far too long. → negative" "$out"

# The DocC catalog builds, its links resolve.
if swift package --disable-sandbox generate-documentation --target PretrainKit --warnings-as-errors >"${TMPDIR:-/tmp}/docc.log" 2>&1; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL: the DocC catalog does not build cleanly:" >&2; grep -E "warning|error" "${TMPDIR:-/tmp}/docc.log" | head -10 >&2
fi

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
