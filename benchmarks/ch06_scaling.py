"""Chapter 6: time per ALS sweep and peak memory, mfbook (1 and 2 threads) and Spark local[2].

Run from the repository root (``--quick``: tiny sizes, about a minute, results written to
``$MFBOOK_RESULTS_DIR`` or a fresh temporary directory, never over the stored ones):

    nice python benchmarks/ch06_scaling.py [--quick] [--sizes 1e5 3e5 ...]

For each number of ratings :math:`N` (default 1e5, 3e5, 1e6, 3e6, 1e7), ratings of a
MovieLens-shaped problem (:math:`20\\sqrt N` users, :math:`3\\sqrt N` items, log-normal
activity and popularity, rank-10 truth plus noise) are drawn, and each competitor runs **in a fresh
process** so that its peak memory is its own (the resident memory of the process and its
children, the JVM included, sampled every 50 ms with psutil):

* ``mfbook-1``, ``mfbook-2``: :func:`mfbook.recommender.als` on the ALS-WR objective of Spark
  (rank 10, ``reg=0.1``, count weights), ``n_jobs=1`` and ``2``; time per sweep = wall time
  of 3 sweeps / 3 after one warm-up sweep (compilation excluded); CPU time too.
* ``spark``: ``ALS(rank=10, regParam=0.1)`` in ``local[2]`` (2 user and 2 item blocks) on a
  DataFrame built through Arrow and cached; time per sweep = (fit with ``maxIter=4`` - fit
  with ``maxIter=1``) / 3 after a warm-up fit, so start-up, data loading, JIT compilation and
  each fit's set-up cancel; in wall time and in CPU time of the Python process and its JVM
  (CPU time is the figure to compare on a loaded machine: wall-time differences of two fits
  can even come out negative there, and are kept as measured).

The three are interleaved size by size.  A series stops at the first size whose run
exceeds ``--time-budget`` seconds of wall time or ``--memory-budget`` GB (or fails); the
sizes not run are recorded with the reason.  Writes ``benchmarks/results/ch06_scaling.json``.
On a shared machine the times are upper bounds; re-run on an idle machine for the book.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

COMMAND = "python benchmarks/ch06_scaling.py"
RANK, REG = 10, 0.1
IMPLS = ("mfbook-1", "mfbook-2", "spark")


def generated_ratings(n_ratings: int, seed: int = 0):
    """MovieLens-shaped ratings without a dense truth: :math:`20\\sqrt N` users and
    :math:`3\\sqrt N` items (density 1.7%, MovieLens-10M's 1.3%)."""
    from mfbook.core import Ratings
    from mfbook.datasets import skewed_pairs
    m, n = int(20 * np.sqrt(n_ratings)), int(3 * np.sqrt(n_ratings))
    rng = np.random.default_rng(seed)
    rows, cols = skewed_pairs(m, n, n_ratings, rng)
    U = rng.normal(0, 0.5 / np.sqrt(RANK) ** 0.5, (m, RANK))
    V = rng.normal(0, 0.5 / np.sqrt(RANK) ** 0.5, (n, RANK))
    vals = np.empty(n_ratings)
    for lo in range(0, n_ratings, 1_000_000):
        r, q = rows[lo:lo + 1_000_000], cols[lo:lo + 1_000_000]
        vals[lo:lo + len(r)] = (3.6 + np.einsum("ij,ij->i", U[r], V[q])
                                + 0.8 * rng.standard_normal(len(r)))
    return Ratings(rows, cols, vals, (m, n))


class PeakMemory:
    """Largest resident memory of this process and all its children, sampled in a thread."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil
        self._proc, self._interval, self.peak = psutil.Process(), interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> int:
        total = 0
        for p in [self._proc] + self._proc.children(recursive=True):
            try:
                total += p.memory_info().rss
            except Exception:   # a child that just exited
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            time.sleep(self._interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self._sample()) / 1e9


def tree_cpu() -> float:
    """CPU seconds (user + system) of this process and its children (the JVM) so far."""
    import psutil
    me = psutil.Process()
    total = 0.0
    for p in [me] + me.children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except Exception:
            pass
    return total


def run_one(impl: str, n_ratings: int) -> dict:
    """One measurement, in this (fresh) process; returns a JSON-able dict."""
    memory = PeakMemory()
    R = generated_ratings(n_ratings)
    out = {"impl": impl, "n_ratings": n_ratings, "shape": list(R.shape)}
    if impl.startswith("mfbook"):
        from mfbook.recommender import als
        from mfbook.spark import spark_objective
        n_jobs = int(impl.split("-")[1])
        objective = spark_objective(R, RANK, REG)
        theta = als(objective, objective.random_params(seed=0), 1, n_jobs=n_jobs).x
        wall, cpu = time.perf_counter(), time.process_time()
        als(objective, theta, 3, n_jobs=n_jobs)
        out["sweep_s"] = (time.perf_counter() - wall) / 3
        out["sweep_cpu_s"] = (time.process_time() - cpu) / 3
    else:
        from pyspark.ml.recommendation import ALS
        from mfbook.spark import ratings_to_spark, spark_session
        spark = spark_session(driver_memory="6g")
        df = ratings_to_spark(spark, R).cache()
        df.count()
        ALS(rank=RANK, maxIter=1, regParam=REG, seed=0, numUserBlocks=2,
            numItemBlocks=2).fit(df).userFactors.count()     # warm-up: JIT, first job set-up
        times, cpus = {}, {}
        for iters in (1, 4):
            start, cpu = time.perf_counter(), tree_cpu()
            model = ALS(rank=RANK, maxIter=iters, regParam=REG, seed=0, numUserBlocks=2,
                        numItemBlocks=2).fit(df)
            model.userFactors.count()
            model.itemFactors.count()
            times[iters], cpus[iters] = time.perf_counter() - start, tree_cpu() - cpu
        out["sweep_s"] = (times[4] - times[1]) / 3
        out["sweep_cpu_s"] = (cpus[4] - cpus[1]) / 3
        out["fit1_s"], out["fit4_s"] = times[1], times[4]
        spark.stop()
    out["peak_gb"] = memory.stop()
    return out


def measure(impl: str, n_ratings: int, time_budget: float) -> dict:
    """Run :func:`run_one` in a fresh process, with a wall-time limit."""
    cmd = [sys.executable, __file__, "--one", impl, str(n_ratings)]
    start = time.perf_counter()
    # its own process group, so that a timeout also ends the JVM it started
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=time_budget)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"impl": impl, "n_ratings": n_ratings, "stopped": f"over {time_budget:g} s"}
    if proc.returncode != 0:
        lines = stderr.strip().splitlines()
        # the first line naming the error (a Java stack trace ends with "at ..." lines)
        named = [ln for ln in lines if "Error" in ln or "Exception" in ln] or lines[-1:] or [
            "no output"]
        return {"impl": impl, "n_ratings": n_ratings, "stopped": f"failed: {named[0][:200]}"}
    out = json.loads(stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - start
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, about a minute")
    parser.add_argument("--sizes", type=float, nargs="+", default=None)
    parser.add_argument("--time-budget", type=float, default=300.0,
                        help="seconds per run before a series stops")
    parser.add_argument("--memory-budget", type=float, default=8.0,
                        help="GB of peak memory before a series stops")
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    parser.add_argument("--one", nargs=2, metavar=("IMPL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return 0
    if args.quick and not os.environ.get("MFBOOK_RESULTS_DIR"):
        os.environ["MFBOOK_RESULTS_DIR"] = tempfile.mkdtemp(prefix="ch06-quick-")
    sizes = [int(s) for s in (args.sizes or ([5_000] if args.quick
                                             else [1e5, 3e5, 1e6, 3e6, 1e7]))]
    runs, stopped = [], {}
    for n_ratings in sizes:
        for impl in args.impls:
            if impl in stopped:
                runs.append({"impl": impl, "n_ratings": n_ratings,
                             "stopped": f"not run: {stopped[impl]}"})
                continue
            res = measure(impl, n_ratings, args.time_budget)
            if "stopped" not in res and res["peak_gb"] > args.memory_budget:
                res["stopped"] = f"peak memory over {args.memory_budget:g} GB"
            if "stopped" in res:
                stopped[impl] = f"{res['stopped']} at {n_ratings:.0e} ratings"
            runs.append(res)
            save(args, sizes, runs)
            shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in res.items()}
            print(shown, "load", os.getloadavg()[0], flush=True)
    print("wrote", save(args, sizes, runs))
    return 0


def save(args: argparse.Namespace, sizes: list[int], runs: list[dict]):
    """Write the results so far (after every run: a stopped benchmark keeps what it did)."""
    from mfbook.book import rounded, save_results
    runs = [dict(r) for r in runs]
    for res in runs:
        for key in ("sweep_s", "sweep_cpu_s", "fit1_s", "fit4_s", "peak_gb", "wall_s"):
            if key in res:
                res[key] = rounded([res[key]], 4)[0]
    payload = {"command": COMMAND + (" --quick" if args.quick else ""), "quick": args.quick,
               "rank": RANK, "reg_param": REG, "sizes": sizes, "runs": runs,
               "time_budget_s": args.time_budget, "memory_budget_gb": args.memory_budget,
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "load_average_at_end": round(os.getloadavg()[0], 2)}}
    return save_results("ch06_scaling.json", payload)


if __name__ == "__main__":
    sys.exit(main())
