#!/usr/bin/env python3
"""Thermograd's training step against PyTorch's, in alternating rounds, with medians (`make bench-compare`).

One round runs, for every model, `thermograd bench train-step` and then the PyTorch reference with the same
model, batch, optimiser and thread count, and records both means (each is a mean over its timed steps) and
their ratio. The machine is shared and a single round moves by ±15 %, so the summary quotes the median of the
per-round ratios with their range and the load averages (1 minute, /proc/loadavg) seen before each run.
PyTorch's multi-threaded step degrades badly on a loaded machine: a round that starts at a load above the
thread count is marked, and the median is also given over the quiet rounds alone.

Usage: python3 bench/compare_rounds.py --binary .build/release/thermograd --models mlp cnn --rounds 5
       [--batch 256] [--optimizer adam] [--threads 2] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

REFERENCES = {
    "mlp": ["bench/pytorch_reference.py", "--model", "mlp"],
    "cnn": ["bench/pytorch_reference.py", "--model", "cnn"],
    "vit": ["bench/pytorch_vit_reference.py"],
    "gnn": ["bench/pytorch_gnn_reference.py"],
}


def load_average() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run_json(command, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def summarise(values):
    return statistics.median(values), min(values), max(values)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=".build/release/thermograd")
    p.add_argument("--models", nargs="+", default=["mlp", "cnn"], choices=sorted(REFERENCES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write every round and the summary to this file")
    a = p.parse_args()
    if a.rounds < 1 or a.batch < 1 or a.threads < 1:
        p.error("--rounds, --batch and --threads must be at least 1")

    rounds = []
    for r in range(1, a.rounds + 1):
        for m in a.models:
            load_before = load_average()
            swift = run_json([a.binary, "bench", "train-step", "--model", m, "--batch", str(a.batch),
                              "--optimizer", a.optimizer, "--threads", str(a.threads)], a.threads)
            load_between = load_average()
            torch = run_json([sys.executable] + REFERENCES[m] + ["--batch", str(a.batch), "--optimizer", a.optimizer,
                                                                  "--threads", str(a.threads)], a.threads)
            row = {"round": r, "model": m, "thermogradMs": 1e3 * swift["meanSeconds"],
                   "pytorchMs": 1e3 * torch["meanSeconds"], "ratio": swift["meanSeconds"] / torch["meanSeconds"],
                   "loadBefore": load_before, "loadBetween": load_between, "torch": torch.get("torch", "?")}
            row["quiet"] = max(load_before, load_between) <= a.threads
            rounds.append(row)
            print(f"round {r}  {m:4s} batch {a.batch} {a.optimizer}, {a.threads} threads: thermograd "
                  f"{row['thermogradMs']:8.2f} ms   pytorch {row['torch']} {row['pytorchMs']:8.2f} ms   "
                  f"ratio {row['ratio']:.2f}   load {load_before:.2f}/{load_between:.2f}"
                  f"{'' if row['quiet'] else '  (loaded)'}", flush=True)

    summary = []
    for m in a.models:
        rows = [x for x in rounds if x["model"] == m]
        quiet = [x["ratio"] for x in rows if x["quiet"]]
        ratio, low, high = summarise([x["ratio"] for x in rows])
        entry = {"model": m, "rounds": len(rows), "medianRatio": ratio, "minRatio": low, "maxRatio": high,
                 "medianThermogradMs": statistics.median(x["thermogradMs"] for x in rows),
                 "medianPytorchMs": statistics.median(x["pytorchMs"] for x in rows),
                 "quietRounds": len(quiet), "medianQuietRatio": statistics.median(quiet) if quiet else None,
                 "loadRange": [min(min(x["loadBefore"], x["loadBetween"]) for x in rows),
                               max(max(x["loadBefore"], x["loadBetween"]) for x in rows)]}
        summary.append(entry)
        quiet_text = (f", quiet rounds {len(quiet)}: median {entry['medianQuietRatio']:.2f}" if quiet
                      else ", no quiet round")
        print(f"{m:4s} median of {len(rows)} rounds: thermograd {entry['medianThermogradMs']:.2f} ms, pytorch "
              f"{entry['medianPytorchMs']:.2f} ms, ratio {ratio:.2f} (range {low:.2f}–{high:.2f}; load "
              f"{entry['loadRange'][0]:.2f}–{entry['loadRange'][1]:.2f}{quiet_text})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"batch": a.batch, "optimizer": a.optimizer, "threads": a.threads, "rounds": rounds,
                       "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
