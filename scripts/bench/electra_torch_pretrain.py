#!/usr/bin/env python3
"""ELECTRA pretraining in PyTorch/transformers on the main corpus, as a cross-check of the
dynamics `pretrain train --recipe electra` shows (not of its speed: bench_train_torch.py does that).

The same setup as scripts/electra-vs-roberta.sh: the run's byte-level BPE tokenizer, sequences of
128 packed across documents (FULL-SENTENCES), 15 % of the tokens predicted (85 % <mask>, 15 %
kept), a generator 1/4 as wide sharing the discriminator's embeddings (transformers'
ElectraForMaskedLM + ElectraForPreTraining), replacements drawn from its softmax, loss = MLM +
50 · RTD, AdamW with linear warm-up and decay, batch 32 × 2. Prints the discriminator's accuracy,
precision and recall on each logged step's tokens, and the all-original baseline.

    python3 scripts/bench/electra_torch_pretrain.py --tokenizer runs/electra/tokenizer.json --steps 400
"""
import argparse, math, time
import torch
import transformers as T
from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="runs/corpus-main.txt")
    ap.add_argument("--tokenizer", default="runs/electra/tokenizer.json")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--schedule-steps", type=int, default=1600, help="the linear decay's end (the recipe's max_steps)")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--temperature", type=float, default=1.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tok = Tokenizer.from_file(a.tokenizer)
    bos, eos, mask_id, pad = (tok.token_to_id(t) for t in ["<s>", "</s>", "<mask>", "<pad>"])
    lines = [l.strip() for l in open(a.corpus, encoding="utf-8") if l.strip()]
    stream = []
    for enc in tok.encode_batch(lines[:120000], add_special_tokens=False):
        stream += enc.ids + [eos]
    seqs = [[bos] + stream[i:i + 126] + [eos] for i in range(0, len(stream) - 126, 126)]
    print(f"{len(seqs)} sequences of 128")
    v = tok.get_vocab_size()
    common = dict(vocab_size=v, embedding_size=128, num_hidden_layers=2, max_position_embeddings=512, pad_token_id=pad)
    disc = T.ElectraForPreTraining(T.ElectraConfig(hidden_size=128, num_attention_heads=2, intermediate_size=512, **common))
    gen = T.ElectraForMaskedLM(T.ElectraConfig(hidden_size=32, num_attention_heads=1, intermediate_size=128, **common))
    gen.electra.embeddings = disc.electra.embeddings
    gen.generator_lm_head.weight = disc.electra.embeddings.word_embeddings.weight
    params = list({id(p): p for p in list(disc.parameters()) + list(gen.parameters())}.values())
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=a.lr, eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / 100 if s < 100 else max(0.0, 1 - (s - 100) / (a.schedule_steps - 100)))
    g = torch.Generator().manual_seed(1)
    order = torch.randperm(len(seqs), generator=g).tolist()
    cursor, t0 = 0, time.time()
    for step in range(1, a.steps + 1):
        stats = [0, 0, 0, 0, 0]  # tokens, correct, replaced, predicted replaced, true positives
        for _ in range(2):
            ids = torch.tensor([seqs[order[(cursor + i) % len(seqs)]] for i in range(32)])
            cursor += 32
            inputs, labels = ids.clone(), torch.full_like(ids, -100)
            for r in range(32):
                cand = torch.arange(1, 127)
                pick = cand[torch.randperm(126, generator=g)[:19]]
                labels[r, pick] = ids[r, pick]
                masked = pick[torch.rand(19, generator=g) < 0.85]
                inputs[r, masked] = mask_id
            gout = gen(input_ids=inputs, labels=labels)
            with torch.no_grad():
                where = labels != -100
                probs = torch.softmax(gout.logits[where] / a.temperature, -1)
                fake = ids.clone()
                fake[where] = torch.multinomial(probs, 1).squeeze(-1)
                is_fake = (fake != ids).long()
            dout = disc(input_ids=fake, labels=is_fake)
            loss = (gout.loss + 50 * dout.loss) / 2
            loss.backward()
            with torch.no_grad():
                pred = dout.logits > 0
                truth = is_fake.bool()
                stats[0] += truth.numel(); stats[1] += (pred == truth).sum().item(); stats[2] += truth.sum().item()
                stats[3] += pred.sum().item(); stats[4] += (pred & truth).sum().item()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
        if step % 25 == 0:
            n, correct, replaced, predicted, tp = stats
            print(f"step {step}: rtd_accuracy {correct / n:.4f}  baseline {(n - replaced) / n:.4f}  "
                  f"precision {tp / max(1, predicted):.3f}  recall {tp / max(1, replaced):.3f}  "
                  f"gen_mlm_loss {gout.loss.item():.3f}  rtd_loss {dout.loss.item():.4f}  ({time.time() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
