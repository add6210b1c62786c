"""Chapter 4: where gradient descent ends on regularized deep matrix factorization.

Run from the repository root:
    python benchmarks/ch04_gd_landscape.py        (a few minutes on one core)
    python benchmarks/ch04_gd_landscape.py --quick   (tiny grid, seconds; CI)
Writes ch04_gd_landscape.json (into benchmarks/results, or elsewhere with --quick).

Three experiments, all on targets with prescribed singular values (mfbook.deep):

1. phase: a grid of depths L and weights lambda, two initialization scales, RUNS runs each.
   Every end point is matched to the closest critical point of the closed-form enumeration
   (by the product W_L...W_1) and its type is recorded next to the theory for that cell.
2. boundary: y_2 set to the threshold y*(lambda, L), where the double root is a
   non-strict saddle; the distance of each run to it after 10^3, 10^4, 10^5 steps.
3. step: a fixed step size (safe at the global minimum) from larger and larger
   initializations; how many runs diverge.
"""

from __future__ import annotations

import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from mfbook.book import save_results  # noqa: E402
from mfbook.deep import (DeepMF, batched_gradient_descent,  # noqa: E402
                         enumerate_critical_points, nearest_critical_point,
                         target_with_singular_values, thresholds)

SINGULAR_VALUES = (3.2, 2.1, 1.3, 0.6)
SHAPE = (5, 4)
WIDTH = 3                      # every hidden layer: the width limit min_l d_l = 3 < rank Y = 4
DEPTHS = (2, 3, 4, 5)
LAMBDAS = tuple(float(v) for v in np.geomspace(0.03, 3.0, 11))
INIT_STDS = (0.1, 0.5)
RUNS = 200
MAX_STEPS = 200_000
CHECKPOINTS = (1_000, 10_000, 100_000)
STEP_STEPS = 20_000
STEP_STDS = (0.25, 0.5, 0.75, 1.0, 1.25)
GTOL = 1e-8
MATCH_TOL = 1e-4


def target() -> np.ndarray:
    return target_with_singular_values(SINGULAR_VALUES, SHAPE, seed=0)


def step_size(model: DeepMF, points, starts: np.ndarray) -> float:
    """0.5 / the largest Hessian eigenvalue at the global minimum and at the starts."""
    top = [np.linalg.eigvalsh(model.hessian(c.theta))[-1] for c in points
           if c.kind == "global minimum"]
    top += [np.linalg.eigvalsh(model.hessian(x))[-1] for x in starts]
    return 0.5 / float(max(top))


def classify_ends(model: DeepMF, points, ends: np.ndarray, diverged: np.ndarray) -> list[dict]:
    _, grads = model.loss_grad(ends)
    out = []
    for x, g, dead in zip(ends, grads, diverged):
        if dead:
            out.append({"label": "diverged", "kind": "diverged", "distance": None,
                        "grad_norm": None})
            continue
        i, dist = nearest_critical_point(model, x, points)
        out.append({"label": points[i].label, "kind": points[i].kind, "distance": dist,
                    "grad_norm": float(np.linalg.norm(g))})
    return out


def phase() -> list[dict]:
    Y = target()
    cells = []
    for L in DEPTHS:
        for lam in LAMBDAS:
            model = DeepMF(Y, [WIDTH] * (L - 1), lam)
            points = enumerate_critical_points(model)
            kinds = [c.kind for c in points]
            th = thresholds(lam, L)
            for std in INIT_STDS:
                rng = np.random.default_rng([L, int(round(lam * 1e6)), int(std * 1000)])
                starts = rng.normal(0.0, std, (RUNS, model.dim))
                lr = step_size(model, points, starts)
                t0 = time.perf_counter()
                runs = batched_gradient_descent(model, starts, lr, MAX_STEPS, gtol=GTOL)
                wall = time.perf_counter() - t0
                ends = classify_ends(model, points, runs.ends, runs.diverged)
                counts: dict[str, int] = {}
                for e in ends:
                    key = f"{e['label']}|{e['kind']}"
                    counts[key] = counts.get(key, 0) + 1
                matched = [e for e in ends if e["distance"] is not None]
                cell = {
                    "depth": L, "lam": lam, "init_std": std, "lr": lr,
                    "y_exist": th.y_exist, "y_global": th.y_global,
                    "n_critical": len(points),
                    "n_local_minima": int(sum(k.endswith("minimum") for k in kinds)),
                    "n_strict_saddles": int(kinds.count("strict saddle")),
                    "n_nonstrict_saddles": int(kinds.count("non-strict saddle")),
                    "global_label": next(c.label for c in points if c.kind == "global minimum"),
                    "global_loss": next(c.loss for c in points if c.kind == "global minimum"),
                    "local_minima": [c.label for c in points if c.kind.endswith("minimum")],
                    "counts": counts,
                    "max_distance": max(e["distance"] for e in matched) if matched else None,
                    "max_grad_norm": max(e["grad_norm"] for e in matched) if matched else None,
                    "n_diverged": int(runs.diverged.sum()),
                    "n_steps": runs.result.n_steps, "status": runs.result.status,
                    "wall_time": wall,
                }
                cells.append(cell)
                print(f"L={L} lam={lam:.4f} std={std}: {runs.result.n_steps} steps, "
                      f"{wall:.1f} s, {counts}", flush=True)
    return cells


def boundary() -> dict:
    L, lam, std = 3, 0.5, 0.5
    th = thresholds(lam, L)
    values = (SINGULAR_VALUES[0], th.y_exist, 0.6, 0.3)
    Y = target_with_singular_values(values, SHAPE, seed=0)
    model = DeepMF(Y, [WIDTH] * (L - 1), lam)
    points = enumerate_critical_points(model)
    saddle = next(i for i, c in enumerate(points) if c.kind == "non-strict saddle")
    starts = np.random.default_rng(1).normal(0.0, std, (RUNS, model.dim))
    lr = step_size(model, points, starts)
    x, done, record = starts, 0, []
    for n in CHECKPOINTS:
        runs = batched_gradient_descent(model, x, lr, n - done)
        x, done = runs.ends, n
        ends = classify_ends(model, points, x, runs.diverged)
        record.append({"steps": n,
                       "labels": [e["label"] for e in ends],
                       "kinds": [e["kind"] for e in ends],
                       "distances": [e["distance"] for e in ends],
                       "grad_norms": [e["grad_norm"] for e in ends]})
        print(f"boundary, {n} steps: {sum(e['kind'] == 'non-strict saddle' for e in ends)} "
              f"runs at the non-strict saddle", flush=True)
    return {"depth": L, "lam": lam, "init_std": std, "singular_values": list(values),
            "y_exist": th.y_exist, "lr": lr, "saddle_label": points[saddle].label,
            "checkpoints": record}


def step() -> list[dict]:
    Y = target()
    out = []
    for L in (3, 4):
        lam = 0.3
        model = DeepMF(Y, [WIDTH] * (L - 1), lam)
        points = enumerate_critical_points(model)
        gm = next(c for c in points if c.kind == "global minimum")
        lr = 0.5 / float(np.linalg.eigvalsh(model.hessian(gm.theta))[-1])
        for std in STEP_STDS:
            starts = np.random.default_rng([L, int(std * 100)]).normal(0.0, std, (RUNS, model.dim))
            runs = batched_gradient_descent(model, starts, lr, STEP_STEPS, gtol=GTOL)
            ends = classify_ends(model, points, runs.ends, runs.diverged)
            kinds = [e["kind"] for e in ends]
            out.append({"depth": L, "lam": lam, "init_std": std, "lr": lr,
                        "n_diverged": int(runs.diverged.sum()),
                        "n_global": kinds.count("global minimum"),
                        "n_spurious": kinds.count("spurious local minimum"),
                        "n_other": RUNS - int(runs.diverged.sum()) - kinds.count("global minimum")
                        - kinds.count("spurious local minimum")})
            print(f"step L={L} std={std}: {out[-1]}", flush=True)
    return out


def make_quick() -> None:
    """Quick mode (``--quick``, for CI): two depths, two weights, three runs, few steps."""
    global DEPTHS, LAMBDAS, INIT_STDS, RUNS, MAX_STEPS, CHECKPOINTS, STEP_STEPS, STEP_STDS
    DEPTHS, LAMBDAS, INIT_STDS, RUNS = (2, 3), (0.1, 1.0), (0.1,), 3
    MAX_STEPS, CHECKPOINTS, STEP_STEPS, STEP_STDS = 300, (10, 20, 30), 100, (0.25, 1.25)


def main() -> None:
    import ch02_quick as Q   # the shared --quick command line of the benchmarks

    if Q.parse(__doc__).quick:
        make_quick()
    t0 = time.perf_counter()
    out = {
        "command": "python benchmarks/ch04_gd_landscape.py",
        "singular_values": list(SINGULAR_VALUES), "shape": list(SHAPE), "width": WIDTH,
        "depths": list(DEPTHS), "lambdas": list(LAMBDAS), "init_stds": list(INIT_STDS),
        "runs": RUNS, "max_steps": MAX_STEPS, "gtol": GTOL, "match_tol": MATCH_TOL,
        "phase": phase(),
        "boundary": boundary(),
        "step": step(),
    }
    out["wall_time"] = time.perf_counter() - t0
    path = save_results("ch04_gd_landscape.json", out)
    print(f"wrote {path} in {out['wall_time']:.0f} s")


if __name__ == "__main__":
    main()
