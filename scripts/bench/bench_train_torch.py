#!/usr/bin/env python3
"""Side-by-side training-step and inference benchmark: `pretrain bench train|infer` vs PyTorch.

The step is the one of the model issue: embeddings + encoder + MLM head on the 15% masked rows
only + cross-entropy + backward + AdamW, dropout 0.1, seq 128, vocab 30522, random token ids;
configs tiny (L2 H128 A2 I512, batch 32), mini (L4 H256 A4 I1024, batch 32), small (L4 H512 A8
I2048, batch 16). PyTorch runs transformers' BertForMaskedLM with sdpa attention, the head applied
to the gathered masked rows, and torch.optim.AdamW. Inference is the no-grad encoder forward +
masked mean pooling (mode `infer`, what `pretrain embed` does) or + the MLM head at the 15 %
masked rows (mode `fill-mask`, what `pretrain fill-mask` does; PyTorch also gets the head on the
gathered rows only).

Each measurement runs in its own process so peak memory (ru_maxrss / VmHWM) is per config.
For the inference modes, `bound` is the speed the forward's dense matrix products alone allow
(`dense_products_bound_tokens_per_s` of `bench infer`: Q/K/V, output, FFN and decoder products
through the same BLAS, nothing else) divided by PyTorch's speed: no implementation doing those
products with this BLAS can beat PyTorch by more than that.

    python3 scripts/bench/bench_train_torch.py                # all configs, 1 and 2 threads
    python3 scripts/bench/bench_train_torch.py --configs tiny --threads 2 --steps 5
    python3 scripts/bench/bench_train_torch.py --modes train --threads 2 --steps 30 --repeats 5   # medians
    python3 scripts/bench/bench_train_torch.py --modes electra --configs tiny,mini --threads 2   # ELECTRA's joint step
    python3 scripts/bench/bench_train_torch.py --modes distill --configs tiny,mini --threads 2   # DistilBERT's step

Mode `electra` times ELECTRA's joint step: the config as discriminator, a generator 1/4 as wide
sharing its embeddings (`pretrain bench train --objective rtd` against transformers'
ElectraForMaskedLM + ElectraForPreTraining with the same losses; see `electra_step`).

Mode `distill` times DistilBERT's step: the config as a frozen BertForMaskedLM teacher (forward
under no_grad), a DistilBertForMaskedLM student of every other layer, distiller.py's losses
(5 * soft targets at tau 2 over every token + 2 * MLM + cosine of the last hidden states) and
AdamW over the student (`pretrain bench train --objective distillation`; see `distill_step`).

Needs: torch, transformers (pip), and `swift build -c release --product pretrain` first.
"""
import argparse, json, os, resource, subprocess, sys, time

CONFIGS = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512, batch=32),
    "mini": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024, batch=32),
    "small": dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, intermediate_size=2048, batch=16),
}
SEQ, VOCAB = 128, 30522


def electra_step(torch, c, b, ids, pos, labels, mask):
    """ELECTRA's joint step as transformers builds it: ElectraForMaskedLM (the generator, hidden/4,
    max(1, hidden/64) heads) and ElectraForPreTraining (the config as discriminator) sharing their
    embeddings; generator MLM on the gathered masked rows, replacements drawn from its softmax
    (torch.multinomial, no gradient), labels where the draw differs, BCE over every token,
    loss = MLM + 50 * RTD, backward, AdamW over both networks' parameters once."""
    from transformers import ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining
    h = c["hidden_size"]
    common = dict(vocab_size=VOCAB, embedding_size=h, num_hidden_layers=c["num_hidden_layers"], max_position_embeddings=512,
                  attn_implementation="sdpa")
    disc = ElectraForPreTraining(ElectraConfig(hidden_size=h, num_attention_heads=c["num_attention_heads"],
                                               intermediate_size=c["intermediate_size"], **common))
    g = h // 4
    gen = ElectraForMaskedLM(ElectraConfig(hidden_size=g, num_attention_heads=max(1, g // 64), intermediate_size=4 * g, **common))
    gen.electra.embeddings = disc.electra.embeddings
    gen.generator_lm_head.weight = disc.electra.embeddings.word_embeddings.weight
    disc.train(); gen.train()
    params = list({id(p): p for p in list(disc.parameters()) + list(gen.parameters())}.values())
    opt = torch.optim.AdamW(params, lr=1e-4, eps=1e-6, weight_decay=0.01)
    ce, bce = torch.nn.CrossEntropyLoss(), torch.nn.BCEWithLogitsLoss()
    flat = ids.flatten()

    def step():
        hidden = gen.electra(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = gen.generator_lm_head(gen.generator_predictions(hidden.reshape(-1, g)[pos]))
        mlm = ce(logits, labels)
        with torch.no_grad():
            samples = torch.multinomial(torch.softmax(logits, -1), 1).squeeze(-1)
            fake = flat.clone()
            fake[pos] = samples
            replaced = (fake != flat).float().view(b, SEQ)
        rtd = bce(disc(input_ids=fake.view(b, SEQ), attention_mask=mask).logits, replaced)
        (mlm + 50 * rtd).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def distill_step(torch, c, b, ids, pos, labels, mask):
    """DistilBERT's step as distiller.py computes it (alpha_ce 5, alpha_mlm 2, alpha_cos 1, T 2)."""
    import torch.nn.functional as F
    from transformers import BertConfig, BertForMaskedLM, DistilBertConfig, DistilBertForMaskedLM
    n = c["num_hidden_layers"]
    teacher = BertForMaskedLM(BertConfig(vocab_size=VOCAB, hidden_size=c["hidden_size"], num_hidden_layers=n,
                                         num_attention_heads=c["num_attention_heads"], intermediate_size=c["intermediate_size"],
                                         max_position_embeddings=512, attn_implementation="sdpa")).eval()
    student = DistilBertForMaskedLM(DistilBertConfig(vocab_size=VOCAB, dim=c["hidden_size"], n_layers=len(range(0, n, 2)),
                                                     n_heads=c["num_attention_heads"], hidden_dim=c["intermediate_size"],
                                                     max_position_embeddings=512, attn_implementation="sdpa")).train()
    opt = torch.optim.AdamW(student.parameters(), lr=1e-4, eps=1e-6, weight_decay=0.01)
    mlm_labels = torch.full((b * SEQ,), -100, dtype=torch.long)
    mlm_labels[pos] = labels
    sel = mask.bool()
    temperature = 2.0

    def step():
        with torch.no_grad():
            t = teacher(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        s = student(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        s_logits, t_logits = s.logits[sel], t.logits[sel]
        ce = F.kl_div(F.log_softmax(s_logits / temperature, -1), F.softmax(t_logits / temperature, -1), reduction="batchmean") * temperature ** 2
        mlm = F.cross_entropy(s.logits.view(-1, VOCAB), mlm_labels)
        sh, th = s.hidden_states[-1][sel], t.hidden_states[-1][sel]
        cos = F.cosine_embedding_loss(sh, th, torch.ones(sh.shape[0]))
        (5 * ce + 2 * mlm + cos).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def torch_worker(name, threads, steps, mode):
    import torch
    from transformers import BertConfig, BertForMaskedLM
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = CONFIGS[name]
    b = c["batch"]
    ids = torch.randint(1000, VOCAB, (b, SEQ))
    per = round(0.15 * SEQ)
    pos = torch.stack([torch.randperm(SEQ)[:per].sort().values + i * SEQ for i in range(b)]).flatten()
    labels = ids.flatten()[pos]
    mask = torch.ones(b, SEQ)
    if mode not in ("electra", "distill"):  # (built only when used: peak memory is per process)
        model = BertForMaskedLM(BertConfig(vocab_size=VOCAB, hidden_size=c["hidden_size"], num_hidden_layers=c["num_hidden_layers"],
                                           num_attention_heads=c["num_attention_heads"], intermediate_size=c["intermediate_size"],
                                           max_position_embeddings=512, attn_implementation="sdpa"))
    if mode == "electra":
        step = electra_step(torch, c, b, ids, pos, labels, mask)
    elif mode == "distill":
        step = distill_step(torch, c, b, ids, pos, labels, mask)
    elif mode == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, eps=1e-6, weight_decay=0.01)
        lossf = torch.nn.CrossEntropyLoss()

        def step():
            hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            logits = model.cls(hidden.reshape(-1, hidden.shape[-1])[pos])
            loss = lossf(logits, labels)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    elif mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode():
                hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
                (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
    else:  # fill-mask: the MLM logits at the masked rows only (not all B·T rows, as a pipeline would)
        model.eval()

        def step():
            with torch.inference_mode():
                hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
                model.cls(hidden.reshape(-1, hidden.shape[-1])[pos])
    for _ in range(2):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t) / steps
    print(json.dumps({"tokens_per_s": b * SEQ / dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "step_ms": dt * 1e3}))


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="tiny,mini,small")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--modes", default="train,infer,fill-mask")
    ap.add_argument("--binary", default=".build/release/pretrain")
    ap.add_argument("--repeats", type=int, default=1,
                    help="side-by-side pairs per cell (ours, then PyTorch); the table shows each side's median "
                         "and the ratio of the medians, and `ratios` lists every pair's ratio")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        torch_worker(a.worker[0], int(a.worker[1]), int(a.worker[2]), a.worker[3])
        return
    import torch
    print(f"torch {torch.__version__}; ours: {a.binary}")
    print(f"{'mode':9} {'config':6} {'thr':>3} {'ours tok/s':>11} {'torch tok/s':>11} {'ratio':>6} {'ours MiB':>9} {'torch MiB':>9} {'bound':>6}")
    rows = []
    for mode in a.modes.split(","):
        for name in a.configs.split(","):
            for threads in [int(t) for t in a.threads.split(",")]:
                command = {"fill-mask": ["bench", "infer", "--task", "fill-mask"], "electra": ["bench", "train", "--objective", "rtd"],
                           "distill": ["bench", "train", "--objective", "distillation"]}.get(
                    mode, ["bench", mode])
                pairs = []
                for _ in range(a.repeats):  # alternate, so a slow phase of the machine hits both sides
                    pairs.append((run([a.binary, *command, "--config", name, "--threads", str(threads), "--steps", str(a.steps), "--json"]),
                                  run([sys.executable, __file__, "--worker", name, str(threads), str(a.steps), mode])))
                def median_run(side):  # the run with the median tokens/s (the upper one of an even count)
                    return sorted((p[side] for p in pairs), key=lambda r: r["tokens_per_s"])[len(pairs) // 2]
                ours, theirs = median_run(0), median_run(1)
                ratio = ours["tokens_per_s"] / theirs["tokens_per_s"]
                ratios = [p[0]["tokens_per_s"] / p[1]["tokens_per_s"] for p in pairs]
                rows.append(dict(mode=mode, config=name, threads=threads, ours=ours, torch=theirs, ratio=ratio, ratios=ratios))
                bound = ours.get("dense_products_bound_tokens_per_s")
                bound_ratio = f"{bound / theirs['tokens_per_s']:5.2f}x" if bound else "     -"
                spread = "  ratios " + " ".join(f"{r:.2f}" for r in sorted(ratios)) if a.repeats > 1 else ""
                print(f"{mode:9} {name:6} {threads:3d} {ours['tokens_per_s']:11.0f} {theirs['tokens_per_s']:11.0f} {ratio:5.2f}x "
                      f"{ours['peak_rss_mb']:9.0f} {theirs['peak_rss_mb']:9.0f} {bound_ratio}{spread}", flush=True)
    with open(os.environ.get("BENCH_OUT", "/dev/null"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
