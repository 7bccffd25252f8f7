#!/usr/bin/env python3
"""GPT-2 side by side: our CLM training step and generation against PyTorch and llm.c.

Modes (each measurement in its own process, so peak memory is per run):
  train     `pretrain bench train --objective clm` vs transformers' GPT2LMHeadModel (labels =
            input ids, sdpa attention) + torch.optim.AdamW: forward, next-token cross-entropy at
            every position, backward, optimizer step. Dropout 0.1 on both sides.
  llmc      the same step vs llm.c's CPU trainer (karpathy/llm.c `train_gpt2.c`, built here with
            `gcc -O3 -march=native -fopenmp -DOMP`, OMP_NUM_THREADS = threads). This script writes
            its inputs in llm.c's formats: the checkpoint `gpt2_124M.bin` (header magic 20240326,
            version 3 = fp32, then wte (Vp,C), wpe, ln1, qkv (L,3C,C), …, lnf) from a random
            transformers model of the config, and the token files (magic 20240520, uint16 ids).
            llm.c's batch is fixed at 4 × 64 and it prints each step's time; we take the median
            over its steps after the first. The build is of a local copy of `train_gpt2.c` that
            runs --steps + 1 steps, validates at step 0 only and does not sample (none of which
            is inside the timed step).
  generate  `pretrain bench generate` (greedy, key/value cache) vs transformers' `generate`
            (do_sample=False, use_cache=True), batch 1, a 16-token prompt, 64 new tokens that
            end-of-text does not stop: new tokens/s.

Configs: gpt2-mini (L4 H256 A4, the `gpt` recipe's CPU size, vocabulary 8000 as that recipe
trains) and gpt2 (124M: L12 H768 A12, vocabulary 50257); batch 4 × 64 tokens for training.

    python3 scripts/bench/bench_gpt2.py --modes train,generate --threads 2 --repeats 3
    python3 scripts/bench/bench_gpt2.py --modes llmc --llmc /path/to/llm.c --threads 2
    python3 scripts/bench/bench_gpt2.py --modes train --configs gpt2-mini --shape 16x128   # the gpt recipe's micro-batch

Needs: torch, transformers (pip), `swift build -c release --product pretrain` first, and for
`llmc` a checkout of karpathy/llm.c and gcc with OpenMP.
"""
import argparse, json, os, re, resource, shutil, struct, subprocess, sys, tempfile, time

CONFIGS = {
    "gpt2-mini": dict(n_embd=256, n_layer=4, n_head=4, vocab_size=8000, n_positions=512),
    "gpt2": dict(n_embd=768, n_layer=12, n_head=12, vocab_size=50257, n_positions=1024),
}
BATCH, SEQ = 4, 64
PROMPT, NEW = 16, 64


def gpt2_config(name, **kw):
    from transformers import GPT2Config
    c = CONFIGS[name]
    return GPT2Config(vocab_size=c["vocab_size"], n_positions=c["n_positions"], n_embd=c["n_embd"], n_layer=c["n_layer"],
                      n_head=c["n_head"], bos_token_id=c["vocab_size"] - 1, eos_token_id=c["vocab_size"] - 1, **kw)


def torch_worker(name, threads, steps, mode):
    global BATCH, SEQ
    BATCH, SEQ = (int(x) for x in os.environ["BENCH_SHAPE"].split("x"))
    import torch
    from transformers import GPT2LMHeadModel
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    v = CONFIGS[name]["vocab_size"]
    if mode == "train":
        model = GPT2LMHeadModel(gpt2_config(name, attn_implementation="sdpa")).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
        ids = torch.randint(0, v - 1, (BATCH, SEQ))

        def step():
            model(input_ids=ids, labels=ids).loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        for _ in range(2):
            step()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        dt = (time.perf_counter() - t) / steps
        result = {"tokens_per_s": BATCH * SEQ / dt, "step_ms": dt * 1e3}
    else:
        model = GPT2LMHeadModel(gpt2_config(name, attn_implementation="sdpa")).eval()
        prompt = torch.randint(0, v - 1, (1, PROMPT))
        kw = dict(attention_mask=torch.ones_like(prompt), max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False, use_cache=True,
                  pad_token_id=v - 1)
        with torch.inference_mode():
            model.generate(prompt, **kw)
            times = []
            for _ in range(steps):
                t = time.perf_counter()
                out = model.generate(prompt, **kw)
                times.append(time.perf_counter() - t)
        assert out.shape[1] == PROMPT + NEW
        dt = sorted(times)[len(times) // 2]
        result = {"tokens_per_s": NEW / dt, "ms_per_token": dt * 1e3 / NEW}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def write_llmc_inputs(name, folder):
    """llm.c's checkpoint (gpt2_124M.bin, fp32) of a random transformers GPT-2 and its token files."""
    import torch
    from transformers import GPT2LMHeadModel
    torch.manual_seed(0)
    c = CONFIGS[name]
    model = GPT2LMHeadModel(gpt2_config(name))
    sd = model.state_dict()
    V, C, L, maxT = c["vocab_size"], c["n_embd"], c["n_layer"], c["n_positions"]
    Vp = (V + 127) // 128 * 128
    header = [20240326, 3, maxT, V, L, c["n_head"], C, Vp] + [0] * 248
    wte = torch.zeros(Vp, C)
    wte[:V] = sd["transformer.wte.weight"]

    def stack(key, transpose=False):  # llm.c keeps (out, in) matrices; transformers' Conv1D stores (in, out)
        return torch.stack([sd[f"transformer.h.{i}.{key}"].t() if transpose else sd[f"transformer.h.{i}.{key}"] for i in range(L)])
    tensors = [wte, sd["transformer.wpe.weight"], stack("ln_1.weight"), stack("ln_1.bias"), stack("attn.c_attn.weight", True),
               stack("attn.c_attn.bias"), stack("attn.c_proj.weight", True), stack("attn.c_proj.bias"), stack("ln_2.weight"),
               stack("ln_2.bias"), stack("mlp.c_fc.weight", True), stack("mlp.c_fc.bias"), stack("mlp.c_proj.weight", True),
               stack("mlp.c_proj.bias"), sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"]]
    with open(os.path.join(folder, "gpt2_124M.bin"), "wb") as f:
        f.write(struct.pack("256i", *header))
        for t in tensors:
            f.write(t.detach().contiguous().to(torch.float32).numpy().tobytes())
    data = os.path.join(folder, "dev", "data", "tinyshakespeare")
    os.makedirs(data, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    for split, n in [("train", 200_000), ("val", 40_000)]:
        ids = torch.randint(0, V - 1, (n,), generator=g).to(torch.int32).numpy().astype("uint16")
        with open(os.path.join(data, f"tiny_shakespeare_{split}.bin"), "wb") as f:
            f.write(struct.pack("256i", *([20240520, 1, n] + [0] * 253)))
            f.write(ids.tobytes())


def build_llmc(source, folder, steps):
    """Builds train_gpt2 from a checkout of llm.c, or from its bare git directory (HEAD's tree)."""
    tree = os.path.join(folder, "llm.c")
    git_dir = os.path.join(source, ".git") if os.path.isdir(os.path.join(source, ".git")) else source
    if os.path.exists(os.path.join(git_dir, "HEAD")):
        os.makedirs(tree, exist_ok=True)
        archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "HEAD"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
    else:
        shutil.copytree(source, tree)
    # A local copy runs `steps` + 1 training steps and no sampling (it re-runs the whole forward per
    # sampled token, minutes at 124M); validation stays at step 0 only. Nothing else changes.
    source_file = os.path.join(tree, "train_gpt2.c")
    text = open(source_file).read()
    for old, new in [("step <= 40;", "step <= LLMC_STEPS;"), ("step % 10 == 0", "step == 0"), ("step > 0 && step % 20 == 0", "0")]:
        if old not in text:
            sys.exit(f"train_gpt2.c has no '{old}': this llm.c is not the version the benchmark was written for")
        text = text.replace(old, new)
    with open(source_file, "w") as f:
        f.write(text)
    binary = os.path.join(folder, "train_gpt2")
    subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", "-DOMP", f"-DLLMC_STEPS={steps}", "-Wno-unused-result", "-I", tree,
                    source_file, "-lm", "-o", binary], check=True)
    return binary


def run_llmc(binary, name, threads, folder):
    write_llmc_inputs(name, folder)
    out = measured([binary], cwd=folder, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    times = [float(m) for m in re.findall(r"step \d+: train loss [\d.]+ \(took ([\d.]+) ms\)", out["stdout"])]
    if len(times) < 2:
        sys.exit(f"llm.c printed {len(times)} step times:\n{out['stdout'][-2000:]}")
    ms = sorted(times[1:])[len(times[1:]) // 2]
    return {"tokens_per_s": BATCH * SEQ / (ms / 1e3), "step_ms": ms, "peak_rss_mb": out["peak_rss_mb"]}


def measured(cmd, cwd=None, env=None):
    """Runs `cmd` as the only child of a fresh Python process, so its peak memory is its own."""
    wrapper = ("import json,resource,subprocess,sys;p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "print(json.dumps({'rc':p.returncode,'stdout':p.stdout,'stderr':p.stderr,"
               "'peak_rss_mb':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))")
    p = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, cwd=cwd, env=env)
    out = json.loads(p.stdout)
    if out["rc"] != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out['stderr'][-2000:]}")
    return out


def run_json(cmd):
    return json.loads(measured(cmd)["stdout"].strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="gpt2-mini,gpt2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--modes", default="train,generate")
    ap.add_argument("--repeats", type=int, default=1, help="side-by-side pairs per cell (ours, then the reference); medians are shown")
    ap.add_argument("--binary", default=".build/release/pretrain")
    ap.add_argument("--llmc", help="a checkout (or git directory) of karpathy/llm.c, for mode llmc")
    ap.add_argument("--shape", default="4x64", help="training batch × sequence length (llm.c's is fixed at 4x64)")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    global BATCH, SEQ
    BATCH, SEQ = (int(x) for x in a.shape.split("x"))
    os.environ["BENCH_SHAPE"] = a.shape
    if "llmc" in a.modes.split(",") and a.shape != "4x64":
        sys.exit("llm.c's trainer runs batch 4 x 64 only: use --shape 4x64 with mode llmc")
    if a.worker:
        torch_worker(a.worker[0], int(a.worker[1]), int(a.worker[2]), a.worker[3])
        return
    import torch
    print(f"torch {torch.__version__}; ours: {a.binary}; {a.threads} threads; training batch {BATCH} x {SEQ}")
    print(f"{'mode':9} {'config':9} {'ours tok/s':>11} {'ref tok/s':>10} {'ratio':>6} {'ours MiB':>9} {'ref MiB':>8}  ratios")
    rows = []
    work = tempfile.mkdtemp(prefix="bench-gpt2-")
    llmc = build_llmc(a.llmc, work, a.steps) if "llmc" in a.modes.split(",") else None
    for mode in a.modes.split(","):
        for name in a.configs.split(","):
            v = CONFIGS[name]["vocab_size"]
            pairs = []
            for _ in range(a.repeats):  # alternate, so a slow phase of the machine hits both sides
                if mode == "generate":
                    ours = run_json([a.binary, "bench", "generate", "--config", name, "--vocab-size", str(v), "--threads", str(a.threads),
                                     "--prompt-length", str(PROMPT), "--new-tokens", str(NEW), "--repeats", str(a.steps), "--json"])
                else:
                    ours = run_json([a.binary, "bench", "train", "--objective", "clm", "--config", name, "--vocab-size", str(v),
                                     "--batch-size", str(BATCH), "--sequence-length", str(SEQ), "--threads", str(a.threads),
                                     "--steps", str(a.steps), "--json"])
                if mode == "llmc":
                    ref = run_llmc(llmc, name, a.threads, work)
                else:
                    ref = run_json([sys.executable, __file__, "--worker", name, str(a.threads), str(a.steps), mode])
                pairs.append((ours, ref))

            def median(side):
                return sorted((p[side] for p in pairs), key=lambda r: r["tokens_per_s"])[len(pairs) // 2]
            ours, ref = median(0), median(1)
            ratios = sorted(p[0]["tokens_per_s"] / p[1]["tokens_per_s"] for p in pairs)
            ratio = ours["tokens_per_s"] / ref["tokens_per_s"]
            rows.append(dict(mode=mode, config=name, threads=a.threads, ours=ours, reference=ref, ratio=ratio, ratios=ratios))
            print(f"{mode:9} {name:9} {ours['tokens_per_s']:11.1f} {ref['tokens_per_s']:10.1f} {ratio:5.2f}x "
                  f"{ours['peak_rss_mb']:9.0f} {ref['peak_rss_mb']:8.0f}  " + " ".join(f"{r:.2f}" for r in ratios), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    with open(os.environ.get("BENCH_OUT", "/dev/null"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
