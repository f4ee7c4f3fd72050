"""numpy's float32 matrix-product rate for `npm run bench`'s floor: the same
shapes bench/floor.ts times through libtensorflow, best GFLOP/s of a few
rounds each, one JSON object printed.

    .venv/bin/python scripts/keras/gemm.py '[[128, 784, 512], [2048, 2048, 2048]]'
"""
import json
import sys
import time

import numpy as np

ROUND_SECONDS = 0.3
ROUNDS = 3


def rate(m, k, n):
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    np.matmul(a, b, out=out)
    best = 0.0
    for _ in range(ROUNDS):
        calls, started = 0, time.perf_counter()
        while True:
            np.matmul(a, b, out=out)
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed >= ROUND_SECONDS:
                break
        best = max(best, 2 * m * k * n * calls / elapsed / 1e9)
    return best


def main():
    shapes = json.loads(sys.argv[1])
    rates = [{"shape": shape, "gflops": rate(*shape)} for shape in shapes]
    print(json.dumps({"engine": f"numpy {np.__version__}", "rates": rates, "bestGflops": max(r["gflops"] for r in rates)}))


if __name__ == "__main__":
    main()
