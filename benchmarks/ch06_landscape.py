"""Chapter 6: do Spark's ALS runs from different seeds reach the same product, at every rank?

Run from the repository root (``--quick``: tiny sizes, results written to
``$MFBOOK_RESULTS_DIR`` or a fresh temporary directory, never over the stored ones):

    nice python benchmarks/ch06_landscape.py [--quick]

On MovieLens-100K-shaped generated ratings (``movielens_like(943, 1682, 100_000,
rank=10)``, 90% training, 10% test), one ``local[2]`` session fits ``ALS(rank=k,
regParam=0.1, maxIter=30)`` for ranks 2, 5, 10, 20 and seeds 0, 1, 2 (2 user and 2 item
blocks).  For each fit it records the ALS-WR objective (:func:`mfbook.spark.spark_objective`)
of Spark's factors, the training and test RMSE, how far one of mfbook's sweeps still moves
them (:func:`mfbook.spark.sweep_shift`), and, per rank, the relative product distances
:math:`\\lVert U_sV_s^\\top - U_0V_0^\\top\\rVert_F / \\lVert U_0V_0^\\top\\rVert_F` of seeds
1 and 2 to seed 0 (:func:`mfbook.core.product_distance`).  mfbook's own ALS (30 sweeps,
seed 0) is run on the same objective beside it.  Writes
``benchmarks/results/ch06_landscape.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from mfbook.book import rounded, save_results
from mfbook.core import product_distance, rmse
from mfbook.datasets import movielens_like
from mfbook.recommender import als
from mfbook.spark import (als_factors, ratings_to_spark, spark_objective, spark_session,
                          sweep_shift)

COMMAND = "python benchmarks/ch06_landscape.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    args = parser.parse_args(argv)
    if args.quick and not os.environ.get("MFBOOK_RESULTS_DIR"):
        os.environ["MFBOOK_RESULTS_DIR"] = tempfile.mkdtemp(prefix="ch06-quick-")
    shape = (100, 80, 2000) if args.quick else (943, 1682, 100_000)
    ranks = (2, 5) if args.quick else (2, 5, 10, 20)
    seeds = (0, 1) if args.quick else (0, 1, 2)
    iters, reg = (5 if args.quick else 30), 0.1
    data = movielens_like(*shape, rank=10, min_per_user=5 if args.quick else 20, seed=0)
    train, test = data.observed.split([0.9, 0.1], seed=0)
    from pyspark.ml.recommendation import ALS
    spark = spark_session()
    df = ratings_to_spark(spark, train).cache()
    df.count()
    m, n = train.shape
    rows = []
    for rank in ranks:
        objective = spark_objective(train, rank, reg)
        ours = als(objective, objective.random_params(seed=0), iters)
        f_ours = objective.unpack(ours.x)
        factors = {}
        for seed in seeds:
            start = time.perf_counter()
            model = ALS(rank=rank, maxIter=iters, regParam=reg, seed=seed, numUserBlocks=2,
                        numItemBlocks=2).fit(df)
            f = factors[seed] = als_factors(model, m, n)
            seconds = time.perf_counter() - start
            theta = objective.pack(f.U, f.V)
            shift = sweep_shift(objective, f.U, f.V)
            rows.append(dict(
                rank=rank, seed=seed, seconds=seconds, loss=objective.loss(theta),
                train_rmse=rmse(objective.predict(theta, train.rows, train.cols), train),
                test_rmse=rmse(objective.predict(theta, test.rows, test.cols), test),
                sweep_factors=shift.factors, sweep_product=shift.product,
                product_to_seed0=product_distance(f.U, f.V, factors[seeds[0]].U,
                                                  factors[seeds[0]].V),
                product_to_mfbook=product_distance(f.U, f.V, f_ours.U, f_ours.V),
                mfbook_loss=ours.fun,
                mfbook_test_rmse=rmse(objective.predict(ours.x, test.rows, test.cols), test)))
            print({k: (round(v, 6) if isinstance(v, float) else v) for k, v in rows[-1].items()},
                  flush=True)
    spark.stop()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = rounded([value], 6)[0]
    payload = {"command": COMMAND + (" --quick" if args.quick else ""), "quick": args.quick,
               "shape": list(shape), "reg_param": reg, "max_iter": iters, "ranks": list(ranks),
               "seeds": list(seeds), "noise_std": 0.8, "runs": rows}
    print("wrote", save_results("ch06_landscape.json", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
