"""Tools of chapter 3: generator checkpoints, the parallel benchmark report, the teaching ALS."""

import copy

import numpy as np
import pytest

from mfbook.book import StreamCheckpoints, load_results, parallel_report
from mfbook.core import MFObjective
from mfbook.datasets import rating_matrix
from mfbook.recommender import als_half_sweep


# --------------------------------------------------------------------- StreamCheckpoints
def test_segments_replay_one_stream_in_order():
    stream = StreamCheckpoints(7)
    rng = stream.resume("start")
    a = rng.normal(size=3)
    stream.save("a", rng)
    rng = stream.resume("a")
    b = rng.permutation(10)
    stream.save("b", rng)
    c = stream.resume("b").uniform(size=2)
    ref = np.random.default_rng(7)
    assert np.array_equal(a, ref.normal(size=3))
    assert np.array_equal(b, ref.permutation(10))
    assert np.array_equal(c, ref.uniform(size=2))


def test_rerunning_a_segment_gives_the_same_draws():
    stream = StreamCheckpoints(3)
    rng = stream.resume("start")
    rng.normal(size=5)
    stream.save("mid", rng)
    first = stream.resume("mid").normal(size=4)
    stream.resume("mid").normal(size=100)       # a consumer that draws does not move it
    assert np.array_equal(first, stream.resume("mid").normal(size=4))
    assert stream.names == ["start", "mid"]


def test_saved_state_is_a_copy():
    stream = StreamCheckpoints(0)
    rng = stream.resume("start")
    stream.save("x", rng)
    rng.normal(size=10)                          # moving rng afterwards changes nothing
    assert np.array_equal(stream.resume("x").normal(size=2),
                          np.random.default_rng(0).normal(size=2))


def test_checkpoint_errors():
    stream = StreamCheckpoints(1)
    with pytest.raises(KeyError, match="later"):
        stream.resume("later")
    with pytest.raises(TypeError, match="rng"):
        stream.save("x", np.random.RandomState(0))
    with pytest.raises(ValueError, match="start"):
        stream.save("start", np.random.default_rng(0))
    for bad in (True, -1, 1.5):
        with pytest.raises(TypeError, match="seed"):
            StreamCheckpoints(bad)


# --------------------------------------------------------------------- parallel_report
def fake_results():
    def times(wall, cpu):
        return {"wall_best": wall, "cpu_best": cpu}
    return {
        "quick": False, "cpu_count": 2,
        "cholesky_peak_gflops": {"batched": {"21": 2.0, "51": 4.0}, "large": {"4000": 40.0}},
        "surprise": {"n_ratings": 80000, "rank": 50, "sweep_gflops": 8.0},
        "scaling": {"1M": {"rank": 20, "als_sweep_gflops_one_core": 5.0,
                           "als_speedup": 1.8, "sgd_speedup": 1.5,
                           "als_projected_speedup": 1.9, "sgd_projected_speedup": 1.95,
                           "load_start": [0.5, 0.4, 0.3], "load_end": [1.5, 0.4, 0.3],
                           "times": {"als_1": times(0.2, 0.18)}}},
        "figures": [{"figure": "1M: ALS sweep speed-up, 2 threads", "value": 1.8,
                     "floor": 1.7, "sense": ">=", "ok": True},
                    {"figure": "1M: SGD epoch speed-up, 2 threads", "value": 1.5,
                     "floor": 1.7, "sense": ">=", "ok": False}],
    }


def test_report_reads_what_the_file_holds():
    rep = parallel_report(fake_results())
    assert rep.efficiency == [("80k", 50, 8.0, 4.0, 2.0, 0.2), ("1M", 20, 5.0, 2.0, 2.5, 0.125)]
    assert rep.large_peak == 40.0
    assert rep.speedups[0] == ("1M", "ALS sweep", 1.8, 1.9, 1.7, 0.5, 1.5)
    assert rep.speedups[1][:5] == ("1M", "SGD epoch", 1.5, 1.95, 1.7)
    assert [f[-1] for f in rep.floors] == [True, False]
    text = rep.text()
    assert "40.0 GFLOP/s" in text and "0.5 to 1.5" in text and "no" in text


def test_report_peak_for_an_unmeasured_size_is_the_closest():
    res = fake_results()
    res["scaling"]["1M"]["rank"] = 30               # kappa 31: closest measured is 21
    assert parallel_report(res).efficiency[1][3] == 2.0
    del res["surprise"]                             # optional section
    assert len(parallel_report(res).efficiency) == 1


def test_report_errors():
    with pytest.raises(TypeError, match="results"):
        parallel_report([1, 2])
    res = fake_results()
    del res["scaling"]
    with pytest.raises(ValueError, match="scaling"):
        parallel_report(res)
    res = fake_results()
    res["cholesky_peak_gflops"]["batched"] = {}
    with pytest.raises(ValueError, match="batched"):
        parallel_report(res)


def test_report_on_the_stored_file():
    res = load_results("ch03_parallel.json")
    rep = parallel_report(copy.deepcopy(res))
    assert len(rep.floors) == len(res["figures"])
    assert len(rep.speedups) == 2 * len(res["scaling"])


# --------------------------------------------------------------------- the readable ALS
def numpy_user_half_sweep(R, U, V, lam, weights):
    """The chapter's ten-line half-sweep: (V_i'V_i + lam w_i I) u_i = V_i' r_i per user."""
    U = U.copy()
    k = U.shape[1]
    for i in range(R.shape[0]):
        mine = R.rows == i
        Vi, ri = V[R.cols[mine]], R.values[mine]
        U[i] = np.linalg.solve(Vi.T @ Vi + lam * weights[i] * np.eye(k), Vi.T @ ri)
    return U


@pytest.mark.parametrize("weighting", ["uniform", "count"])
def test_normal_equations_are_the_fast_half_sweep(weighting):
    R = rating_matrix(seed=0).observed
    f = MFObjective(R, 3, reg=0.7, reg_weighting=weighting)
    theta = f.random_params(0.5, seed=1)
    U, V = f.unpack(theta)[:2]
    fast = f.unpack(als_half_sweep(f, theta, "rows"))[0]
    slow = numpy_user_half_sweep(R, U, V, f.reg, f.row_weights)
    assert np.allclose(fast, slow, rtol=1e-10, atol=1e-12)
    # and the result is the exact block minimizer: the user gradient vanishes
    g = f.grad(f.pack(slow, V))[: U.size]
    assert np.max(np.abs(g)) < 1e-9 * np.max(np.abs(f.grad(theta)))
