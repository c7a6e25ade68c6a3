#!/usr/bin/env python3
"""PyTorch reference for `thermograd bench train-step`: the same model, batch, optimiser and thread count.

Times one training step (zero_grad, forward, cross-entropy, backward, optimiser step) in eager mode on
the CPU in float32, with random standard-normal inputs and random labels, and prints JSON with the
median step time over repeated runs (after warm-up), in the same fields as the Swift benchmark.

Models (identical shapes and parameter counts to Thermograd's):
  mlp: Linear(784, 512) - ReLU - Linear(512, 512) - ReLU - Linear(512, 10)
  cnn: Conv2d(1, 32, 3, padding=1) - ReLU - MaxPool2d(2) - Conv2d(32, 64, 3, padding=1) - ReLU -
       MaxPool2d(2) - Flatten - Linear(3136, 128) - ReLU - Linear(128, 10)
Optimisers: Adam(lr=1e-3) / AdamW(lr=1e-3, weight_decay=0) / SGD(lr=0.01), PyTorch defaults otherwise
(Thermograd's bench uses the same hyper-parameters).

Usage: python3 bench/pytorch_reference.py --model mlp --batch 256 --optimizer adam --threads 2
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def build(model: str) -> nn.Module:
    if model == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def main() -> None:
    p = step_arguments(__doc__)
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    a = parse_step_arguments(p)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = build(a.model).float()
    shape = (a.batch, 784) if a.model == "mlp" else (a.batch, 1, 28, 28)
    print(json.dumps(measure(net, torch.randn(*shape, dtype=torch.float32), a.optimizer, a.seconds, a.model),
                     indent=2, sort_keys=True))


def step_arguments(description: str) -> argparse.ArgumentParser:
    """The options every reference step takes (batch, optimiser, threads, seconds, seed), declared once."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="adam")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=3.0, help="minimum measured seconds")
    p.add_argument("--seed", type=int, default=1)
    return p


def parse_step_arguments(p: argparse.ArgumentParser) -> argparse.Namespace:
    """Parses `p` (from `step_arguments`) and refuses non-positive sizes with a clear message."""
    a = p.parse_args()
    if a.batch < 1 or a.threads < 1 or a.seconds <= 0:
        p.error("--batch, --threads and --seconds must be positive")
    return a


def measure(net: nn.Module, x: torch.Tensor, optimizer: str, seconds: float, model: str,
            loss_fn: nn.Module = None, targets: torch.Tensor = None) -> dict:
    """Times training steps of `net` on `x` (5 warm-up steps, then at least 20 steps and `seconds`) with
    `loss_fn` against `targets` (default: cross-entropy against random labels of 10 classes); returns the
    benchmark's JSON fields. Shared with bench/pytorch_vit_reference.py and bench/pytorch_gnn_reference.py."""
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    elif optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
    if loss_fn is None:
        loss_fn = nn.CrossEntropyLoss()
    y = torch.randint(0, 10, (x.shape[0],)) if targets is None else targets

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    times, total, med = time_steps(step, seconds)
    return {
        "benchmark": "train-step-pytorch", "model": model, "batch": x.shape[0], "optimizer": optimizer,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "parameters": sum(p.numel() for p in net.parameters()), "repeats": len(times),
        "meanSeconds": total / len(times), "medianSeconds": med,
        "madSeconds": statistics.median(abs(t - med) for t in times),
        "examplesPerSecond": x.shape[0] * len(times) / total,
    }


def time_steps(step, seconds: float, warmup: int = 5, repeats: int = 20) -> tuple:
    """Runs `step` `warmup` times, then times it at least `repeats` times and `seconds` in all; returns the
    times, their total and their median. Shared with bench/pytorch_minilm_lora_reference.py."""
    for _ in range(warmup):
        step()
    times = []
    total = 0.0
    while len(times) < repeats or total < seconds:
        t0 = time.perf_counter()
        step()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return times, total, statistics.median(times)


if __name__ == "__main__":
    main()
