"""Vendi score speed: vlmcult's d×d dual vs the vendi-score package (n×n kernel), and n = 100,000.

    python bench/vendi.py [--threads 2] [--large 100000] [--device cpu|cuda]

Prints one table: n, d, seconds for each implementation, the score and the absolute difference.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (the issue's budget: 2 cores)")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--reference-n", type=int, default=5000, help="n for the comparison with vendi-score")
    parser.add_argument("--large", type=int, default=100_000, help="n for the large run (vlmcult only)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda for vlmcult's large run")
    args = parser.parse_args()
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)

    import numpy as np
    from vendi_score import vendi

    from vlmcult.metrics.vendi import vendi_score

    rng = np.random.default_rng(0)
    print(f"{'n':>8} {'d':>5} {'implementation':<34} {'seconds':>9} {'score':>16} {'|diff|':>9}")

    def timed(function, *a, repeats: int = 3, **k):  # best of `repeats`
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            value = function(*a, **k)
            best = min(best, time.perf_counter() - start)
        return best, float(value)

    X = rng.normal(size=(args.reference_n, args.dim)).astype(np.float32)
    vendi_score(X[:600], device="cpu")  # load BLAS/LAPACK and start their threads outside the timings
    ours_time, ours = timed(vendi_score, X, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref_time, ref = timed(vendi.score_X, X.astype(np.float64), repeats=1)
        dual_time, dual = timed(vendi.score_dual, X.astype(np.float64))
    print(f"{args.reference_n:>8} {args.dim:>5} {'vendi-score score_X (n×n)':<34} {ref_time:>9.3f} {ref:>16.9f} {'':>9}")
    print(f"{args.reference_n:>8} {args.dim:>5} {'vendi-score score_dual':<34} {dual_time:>9.3f} {dual:>16.9f} {abs(dual - ref):>9.1e}")
    print(f"{args.reference_n:>8} {args.dim:>5} {'vlmcult vendi_score (cpu)':<34} {ours_time:>9.3f} {ours:>16.9f} {abs(ours - ref):>9.1e}")
    print(f"speed-up over score_X: {ref_time / ours_time:.0f}x")

    if args.large:
        X = rng.normal(size=(args.large, args.dim)).astype(np.float32)
        if args.device.startswith("cuda"):
            import torch

            vendi_score(X[:1000], device=args.device)  # CUDA context start-up is not the metric
            torch.cuda.synchronize()
        large_time, large = timed(vendi_score, X, device=args.device, repeats=2)
        print(f"{args.large:>8} {args.dim:>5} {'vlmcult vendi_score (' + args.device + ')':<34} {large_time:>9.3f} {large:>16.9f} {'':>9}")


if __name__ == "__main__":
    main()
