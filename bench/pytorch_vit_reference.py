#!/usr/bin/env python3
"""PyTorch reference for `thermograd bench train-step --model vit`: the same vision transformer, batch,
optimiser and thread count, timed like bench/pytorch_reference.py (eager, CPU, float32).

The model is Thermograd's `Models.visionTransformer` (docs/vit.md) layer for layer, with the same shapes,
parameter count and arithmetic (no fused attention kernel, so both sides do the same products):
  patches: 28x28 images cut into p x p non-overlapping patches (T = (28/p)^2 tokens of p*p values)
  Linear(p*p, D) on every patch  ->  [class token]  ->  + learned position embedding (T or T+1 rows)
  depth x pre-LN block:  x += O(attention(LayerNorm(x)))  with Linear Q, K, V, O (D -> D), H heads,
                         softmax(Q K^T / sqrt(D/H)) V per head;
                         x += Linear(mlp -> D)(GELU(Linear(D -> mlp)(LayerNorm(x)))), mlp = 4D
  LayerNorm(D)  ->  mean over tokens (or the class token)  ->  Linear(D, 10)
Optimiser: Adam(lr=1e-3) / AdamW / SGD(lr=0.01, momentum 0.9), as in the Swift benchmark.

Usage: python3 bench/pytorch_vit_reference.py --batch 256 --optimizer adam --threads 2 [--patch 7 --width 64 --depth 4 --heads 4]
"""
import json
import math

import torch
from torch import nn

from pytorch_reference import measure, parse_step_arguments, step_arguments  # shared options, timing loop and JSON fields


class Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value, self.output = (nn.Linear(width, width) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads

        def split(z: torch.Tensor) -> torch.Tensor:
            return z.view(b, t, h, d // h).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        return self.output((p @ v).transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(width), Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp), nn.GELU(), nn.Linear(mlp, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, patch: int, width: int, depth: int, heads: int, mlp_ratio: int, pooling: str) -> None:
        super().__init__()
        self.patch, self.pooling = patch, pooling
        tokens = (28 // patch) ** 2
        self.projection = nn.Linear(patch * patch, width)
        self.token = nn.Parameter(torch.zeros(1, 1, width)) if pooling == "first" else None
        self.position = nn.Parameter(0.02 * torch.randn(1, tokens + (pooling == "first"), width))
        self.blocks = nn.Sequential(*(Block(width, heads, mlp_ratio * width) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, p = x.shape[0], self.patch
        g = 28 // p
        patches = x.view(b, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(b, g * g, p * p)
        z = self.projection(patches)
        if self.token is not None:
            z = torch.cat([self.token.expand(b, -1, -1), z], dim=1)
        z = self.norm(self.blocks(z + self.position))
        return self.head(z[:, 0] if self.token is not None else z.mean(dim=1))


def main() -> None:
    p = step_arguments(__doc__)
    p.add_argument("--patch", type=int, default=7)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--mlp-ratio", type=int, default=4)
    p.add_argument("--pooling", choices=["mean", "first"], default="mean")
    a = parse_step_arguments(p)
    if a.patch < 1 or 28 % a.patch != 0 or a.width % a.heads != 0:
        p.error("--patch must divide 28 and --heads must divide --width")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = ViT(a.patch, a.width, a.depth, a.heads, a.mlp_ratio, a.pooling).float()
    print(json.dumps(measure(net, torch.randn(a.batch, 784, dtype=torch.float32), a.optimizer, a.seconds, "vit"),
                     indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
