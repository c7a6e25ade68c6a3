#!/usr/bin/env python3
"""Times thermox 0.0.6 (JAX, CPU) solve and inverse on the same problem family as
`thermograd simulate` / `thermograd bench device`, and prints JSON.

Problem: A symmetric positive definite, eigenvalues log-uniform in [1/kappa, 1] in a random
orthogonal basis (the same recipe as ThermoDevice.BenchmarkProblems.randomSPD, different random
draws); b standard normal. thermox defaults: dt = 1.0, burnin = 0, samples every dt.
Note: thermox.linalg.solve computes the OU mean A^{-1} b digitally (jnp.linalg.solve) and samples
around it; thermox.linalg.inv samples with zero mean. Times are medians of warm calls (after JIT);
relativeError is the mean over those calls (each with its own key).
`thermograd bench device` runs this script (--protocols solve) in the same run as its own rows.

Usage: pip install thermox==0.0.6; python3 bench/thermox_reference.py [--sizes 128 512]
       [--kappas 10 100] [--samples 10000 100000] [--repeats 3] [--protocols solve inverse]
"""
import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import thermox


def random_spd(n, kappa, rng):
    g = rng.standard_normal((n, n))
    _, q = np.linalg.eigh(g @ g.T)
    lam = np.exp(-np.log(kappa) * np.arange(n) / max(n - 1, 1))
    a = (q * lam) @ q.T
    return 0.5 * (a + a.T)


def timed(f, repeats, error):
    f(0).block_until_ready()  # JIT compile + warm-up
    times = []
    errors = []
    for r in range(repeats):
        t0 = time.perf_counter()
        out = f(r + 1).block_until_ready()
        times.append(time.perf_counter() - t0)
        errors.append(error(np.asarray(out)))
    return float(np.median(times)), float(np.mean(errors))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--kappas", type=float, nargs="+", default=[10, 100])
    p.add_argument("--samples", type=int, nargs="+", default=[10000, 100000])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--protocols", nargs="+", default=["solve", "inverse"], choices=["solve", "inverse"])
    args = p.parse_args()
    rows = []
    for n in args.sizes:
        for kappa in args.kappas:
            rng = np.random.default_rng(args.seed)
            a_np = random_spd(n, kappa, rng)
            b_np = rng.standard_normal(n)
            x_ref = np.linalg.solve(a_np, b_np)
            inv_ref = np.linalg.inv(a_np)
            a = jnp.asarray(a_np, dtype=jnp.float32)
            b = jnp.asarray(b_np, dtype=jnp.float32)
            for samples in args.samples:
                if "solve" in args.protocols:
                    t, e = timed(lambda k: thermox.linalg.solve(a, b, num_samples=samples, dt=1.0,
                                                                 key=jax.random.PRNGKey(k)), args.repeats,
                                 lambda x: np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref))
                    rows.append(dict(protocol="solve", n=n, kappa=kappa, samples=samples, dt=1.0, burnin=0,
                                     wallSeconds=t, relativeError=e))
                    print(json.dumps(rows[-1]), file=sys.stderr)
                if "inverse" in args.protocols:
                    t, e = timed(lambda k: thermox.linalg.inv(a, num_samples=samples, dt=1.0,
                                                               key=jax.random.PRNGKey(k)), args.repeats,
                                 lambda c: np.linalg.norm(c - inv_ref) / np.linalg.norm(inv_ref))
                    rows.append(dict(protocol="inverse", n=n, kappa=kappa, samples=samples, dt=1.0, burnin=0,
                                     wallSeconds=t, relativeError=e))
                    print(json.dumps(rows[-1]), file=sys.stderr)
    print(json.dumps(dict(benchmark="thermox-0.0.6", jax=jax.__version__, devices=str(jax.devices()),
                          cpus=os.cpu_count(), results=rows), indent=2))


if __name__ == "__main__":
    main()
