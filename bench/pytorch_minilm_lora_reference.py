#!/usr/bin/env python3
"""PyTorch reference for `thermograd bench train-step --model minilm-lora`: the same LoRA training step on
the MiniLM-L6 encoder (docs/lora.md#speed), timed like bench/pytorch_reference.py (eager, CPU, float32).

The model is Thermograd's `LoRAClassifier` layer for layer (no fused attention kernel, so both sides do
the same products): BERT embeddings (word + position + token type 0) -> LayerNorm -> 6 post-LN blocks
(self-attention with Linear Q, K, V, O of width 384, 12 heads, padded keys masked with -inf; GELU MLP of 1536)
-> mean over the unmasked tokens -> Linear(384, 5). The encoder's weights are frozen (requires_grad False);
LoRA adapters B A (rank r, alpha, dropout on their input) on Q, K, V, O and the head train with Adam(1e-3).
Weights are random (speed does not depend on them); token ids are random, each text keeps a random length
between T/2 and T, the rest is padding. Peak resident memory (ru_maxrss) is reported with the times.

Usage: python3 bench/pytorch_minilm_lora_reference.py --batch 32 --length 128 --threads 2
"""
import argparse
import json
import math
import resource
import statistics

import torch
from torch import nn

from pytorch_reference import time_steps  # the same timing loop as the MLP/CNN/ViT references


class LoRALinear(nn.Module):
    def __init__(self, width: int, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.base = nn.Linear(width, width)
        self.base.requires_grad_(False)
        self.down = nn.Linear(width, rank, bias=False)
        self.up = nn.Linear(rank, width, bias=False)
        nn.init.zeros_(self.up.weight)
        self.drop = nn.Dropout(dropout)
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * self.up(self.down(self.drop(x)))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (LoRALinear(width, rank, alpha, dropout) for _ in range(4))
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=1e-12), nn.LayerNorm(width, eps=1e-12)
        self.mlp = nn.Sequential(nn.Linear(width, mlp), nn.GELU(), nn.Linear(mlp, width))
        for m in (self.norm1, self.norm2, self.mlp):
            m.requires_grad_(False)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads

        def split(z: torch.Tensor) -> torch.Tensor:
            return z.view(b, t, h, d // h).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h) + bias, dim=-1)
        a = self.norm1(x + self.o((p @ v).transpose(1, 2).reshape(b, t, d)))
        return self.norm2(a + self.mlp(a))


class Classifier(nn.Module):
    def __init__(self, length: int, rank: int, alpha: float, dropout: float, classes: int = 5) -> None:
        super().__init__()
        width, heads, mlp, layers = 384, 12, 1536, 6
        self.word, self.position, self.token_type = nn.Embedding(30522, width), nn.Embedding(512, width), nn.Embedding(2, width)
        self.norm = nn.LayerNorm(width, eps=1e-12)
        for m in (self.word, self.position, self.token_type, self.norm):
            m.requires_grad_(False)
        self.blocks = nn.ModuleList(Block(width, heads, mlp, rank, alpha, dropout) for _ in range(layers))
        self.head = nn.Linear(width, classes)
        self.register_buffer("positions", torch.arange(length))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.word(ids) + self.position(self.positions)[None] + self.token_type.weight[0])
        bias = torch.zeros(mask.shape, dtype=x.dtype).masked_fill(mask == 0, float("-inf"))[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=2)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--seconds", type=float, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    net = Classifier(args.length, args.rank, args.alpha, args.dropout)
    ids = torch.randint(3, 30522, (args.batch, args.length))
    lengths = torch.randint(args.length // 2, args.length + 1, (args.batch,))
    mask = (torch.arange(args.length)[None] < lengths[:, None]).float()
    ids = ids * mask.long()
    y = torch.randint(0, 5, (args.batch,))
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(net(ids, mask), y).backward()
        opt.step()

    times, total, med = time_steps(step, args.seconds, warmup=3, repeats=10)
    print(json.dumps({
        "benchmark": "train-step-pytorch", "model": "minilm-lora", "batch": args.batch, "length": args.length,
        "optimizer": "adam", "threads": torch.get_num_threads(), "torch": torch.__version__,
        "parameters": sum(p.numel() for p in net.parameters()),
        "trainable": sum(p.numel() for p in net.parameters() if p.requires_grad), "repeats": len(times),
        "meanSeconds": total / len(times), "medianSeconds": med,
        "madSeconds": statistics.median(abs(t - med) for t in times),
        "peakResidentBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
