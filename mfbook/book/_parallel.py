"""The figures of ``benchmarks/ch03_parallel.py``, read from its stored results.

The benchmark writes ``benchmarks/results/ch03_parallel.json``; the chapter shows what the
file holds, whatever machine and load it was measured under, through :func:`parallel_report`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._tables import text_table

__all__ = ["ParallelReport", "parallel_report"]


@dataclass
class ParallelReport:
    """The stored parallel-ALS/SGD benchmark, as rows ready to print or glue.

    Attributes
    ----------
    efficiency : list of tuple
        ``(problem, rank, sweep GFLOP/s on one core, batched Cholesky peak GFLOP/s for
        kappa x kappa systems, fraction of that peak, fraction of the large Cholesky
        peak)``, with :math:`\\kappa = k + 1` the unknowns per row of the biased model (or
        the closest size measured).
    large_peak : float
        GFLOP/s of one large LAPACK Cholesky on one thread (the machine's dense peak).
    speedups : list of tuple
        ``(problem, kernel, wall speed-up n_jobs=2 over n_jobs=1, speed-up projected from
        per-thread CPU times, floor, 1-minute load at start, at end)``.
    floors : list of tuple
        ``(figure, measured, sense, floor, met)`` for every figure the benchmark checks.
    cpu_count, quick : int, bool
        Cores of the machine, and whether the file comes from a ``--quick`` run.
    """

    efficiency: list[tuple] = field(default_factory=list)
    large_peak: float = float("nan")
    speedups: list[tuple] = field(default_factory=list)
    floors: list[tuple] = field(default_factory=list)
    cpu_count: int = 0
    quick: bool = False

    def text(self) -> str:
        """Three fixed-width tables: efficiency, two-thread speed-ups, floors."""
        eff = text_table([("problem", "<8"), ("rank", ">5"), ("GFLOP/s", ">9.2f"),
                          ("batched peak", ">14.2f"), ("ratio", ">7.2f"),
                          ("of large peak", ">15.2f")], self.efficiency)
        spd = text_table([("problem", "<8"), ("kernel", "<10"), ("speed-up", ">9.2f"),
                          ("idle cores", ">11.2f"), ("floor", ">7.1f"), ("load", ">14")],
                         [(*r[:5], f"{r[5]:.1f} to {r[6]:.1f}") for r in self.speedups])
        flo = text_table([("figure", "<40"), ("measured", ">9.3f"), ("", ">3"),
                          ("floor", ">6.2f"), ("met", ">4")],
                         [(f, v, s, fl, "yes" if ok else "no") for f, v, s, fl, ok in self.floors])
        return (f"{eff}\nlarge dense Cholesky, one thread: {self.large_peak:.1f} GFLOP/s\n\n"
                f"{spd}\n\n{flo}")


def _peak_for(batched: Mapping[str, float], kappa: int) -> float:
    sizes = sorted(int(s) for s in batched)
    best = min(sizes, key=lambda s: (abs(s - kappa), s))
    return float(batched[str(best)])


def parallel_report(results: Mapping[str, Any]) -> ParallelReport:
    """Collect the figures of a stored ``ch03_parallel.json``.

    Parameters
    ----------
    results : mapping
        The parsed JSON (``load_results("ch03_parallel.json")``).  Needs the keys
        ``cholesky_peak_gflops``, ``scaling`` and ``figures``; ``surprise`` is optional.

    Returns
    -------
    ParallelReport
        The GFLOP/s of one ALS sweep on one core against the batched Cholesky peak, the
        two-thread speed-ups with the load they were measured under, and every floor.

    Raises
    ------
    TypeError
        If ``results`` is not a mapping.
    ValueError
        If a required key is missing or no Cholesky peak was measured.
    """
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a mapping (parsed JSON), got {type(results).__name__}")
    missing = [k for k in ("cholesky_peak_gflops", "scaling", "figures") if k not in results]
    if missing:
        raise ValueError(f"results lacks {', '.join(missing)}: not a ch03_parallel.json")
    peak = results["cholesky_peak_gflops"]
    batched, large = peak.get("batched", {}), peak.get("large", {})
    if not batched:
        raise ValueError("results['cholesky_peak_gflops']['batched'] is empty")
    report = ParallelReport(cpu_count=int(results.get("cpu_count", 0)),
                            quick=bool(results.get("quick", False)),
                            large_peak=max(map(float, large.values()), default=float("nan")))
    problems = []
    if results.get("surprise") and "sweep_gflops" in results["surprise"]:
        s = results["surprise"]
        problems.append((f"{s['n_ratings'] // 1000}k", int(s["rank"]), float(s["sweep_gflops"])))
    for name, s in results["scaling"].items():
        problems.append((name, int(s["rank"]), float(s["als_sweep_gflops_one_core"])))
    for name, rank, gflops in problems:
        p = _peak_for(batched, rank + 1)
        report.efficiency.append((name, rank, gflops, p, gflops / p,
                                  gflops / report.large_peak))
    floor_of = {f["figure"]: f["floor"] for f in results["figures"]}
    for name, s in results["scaling"].items():
        for solver, kernel in (("als", "ALS sweep"), ("sgd", "SGD epoch")):
            fl = floor_of.get(f"{name}: {kernel} speed-up, 2 threads", float("nan"))
            report.speedups.append((name, kernel, float(s[f"{solver}_speedup"]),
                                    float(s[f"{solver}_projected_speedup"]), float(fl),
                                    float(s["load_start"][0]), float(s["load_end"][0])))
    report.floors = [(f["figure"], float(f["value"]), f["sense"], float(f["floor"]),
                      bool(f["ok"])) for f in results["figures"]]
    return report
