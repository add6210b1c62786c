"""mfbook.plotting figures of chapter 4: what they draw and what they refuse."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mfbook.deep import (DeepMF, enumerate_critical_points, reduced_loss,  # noqa: E402
                         target_with_singular_values, thresholds)
from mfbook.plotting import (pair_plane_coordinates, plot_critical_values,  # noqa: E402
                             plot_gd_outcomes, plot_pair_plane, plot_reduced_functions,
                             plot_turning_slice)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_reduced_functions_cover_the_three_regimes():
    fig, axes = plt.subplots(1, 3)
    drawn = plot_reduced_functions(axes, 0.3, depths=(2, 3, 4))
    assert len(drawn[0]) == 2 and np.allclose(drawn[0], [0.18, 0.9])
    for ys, L in zip(drawn[1:], (3, 4)):
        th = thresholds(0.3, L)
        assert ys[0] < th.y_exist < ys[1] < th.y_global < ys[2]
    assert [len(ax.get_lines()) for ax in axes] == [3, 4, 4]   # curves + the zero line
    assert axes[1].get_title() == "L = 3" and axes[1].get_xlabel()


@pytest.mark.parametrize("kwargs, error", [
    (dict(lam=0.0), ValueError), (dict(lam=-1.0), ValueError), (dict(lam=True), TypeError),
    (dict(lam="0.3"), TypeError), (dict(lam=0.3, depths=(1, 3, 4)), ValueError),
    (dict(lam=0.3, depths=(2, 3)), ValueError)])
def test_reduced_functions_refuse_bad_input(kwargs, error):
    fig, axes = plt.subplots(1, 3)
    with pytest.raises(error, match="lam|depths|axes"):
        plot_reduced_functions(axes, **kwargs)


def test_critical_values_jump_to_p_g():
    fig, (a, b) = plt.subplots(1, 2)
    lam = 0.3
    jumps = plot_critical_values(a, b, lam, np.linspace(0.01, 2.2, 200))
    for L in (3, 4, 5):   # p_g = s_g^L with s_g = ((L - 2) lam)^(1 / (2L - 2))
        assert jumps[L] == pytest.approx(((L - 2) * lam) ** (L / (2 * L - 2)), rel=1e-9)
    assert 2 not in jumps
    with pytest.raises(ValueError, match="ys"):
        plot_critical_values(a, b, lam, np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match="at most 4"):
        plot_critical_values(a, b, lam, np.linspace(0.1, 1, 5), depths=(2, 3, 4, 5, 6))


def test_pair_plane_coordinates_and_sign_copies():
    point = SimpleNamespace(s=[1.0, 2.0], active=(0, 1))
    assert pair_plane_coordinates(point, 2).tolist() == [[-1.0, -2.0], [-1.0, 2.0],
                                                         [1.0, -2.0], [1.0, 2.0]]
    assert pair_plane_coordinates(point, 3).tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="only pairs 0 and 1"):
        pair_plane_coordinates(SimpleNamespace(s=[1.0], active=(2,)), 2)


def test_pair_plane_is_the_sum_of_two_reduced_functions():
    Y2 = target_with_singular_values([3.0, 2.0], (3, 3), seed=2)
    grid = np.linspace(-2.0, 2.0, 21)
    fig, ax = plt.subplots()
    Z = plot_pair_plane(ax, DeepMF(Y2, [3, 3], 0.5), grid)
    assert np.allclose(Z, reduced_loss(grid, 3.0, 0.5, 3)
                       + reduced_loss(grid, 2.0, 0.5, 3)[:, None])
    assert ax.get_title() == "L = 3"
    with pytest.raises(ValueError, match="grid"):
        plot_pair_plane(ax, DeepMF(Y2, [3, 3], 0.5), np.zeros((2, 2)))


def test_turning_slice_starts_at_the_critical_point():
    Y2 = target_with_singular_values([3.0, 2.0], (3, 3), seed=2)
    g = DeepMF(Y2, [3, 3], 0.5)
    pts = enumerate_critical_points(g)
    start = next(c for c in pts if c.label == "{2+}")
    fig, ax = plt.subplots()
    Z = plot_turning_slice(ax, g, pts, np.array([start.s[0], 1.0]), np.array([0.0, 0.5]))
    assert Z.shape == (2, 2) and Z[0, 0] == pytest.approx(start.loss, abs=1e-10)
    with pytest.raises(ValueError, match="no critical point labelled"):
        plot_turning_slice(ax, g, pts, np.array([0.0, 1.0]), np.array([0.0, 1.0]),
                           moving="{9+}")


def _bench():
    counts_good = {"{1+}|global minimum": 3, "{}|spurious local minimum": 1}
    counts_zero = {"{1+}|global minimum": 1, "{}|spurious local minimum": 3}
    phase = [dict(depth=L, lam=lam, init_std=0.1, n_local_minima=2,
                  counts=counts_zero if (L, lam) == (3, 1.0) else counts_good)
             for L in (2, 3) for lam in (0.1, 1.0)]
    return dict(runs=4, depths=[2, 3], lambdas=[0.1, 1.0], init_stds=[0.1], phase=phase)


def test_gd_outcomes_fractions_and_frames():
    fig, ax = plt.subplots()
    im = plot_gd_outcomes([ax], _bench())
    assert np.allclose(im.get_array(), [[0.75, 0.75], [0.75, 0.25]])
    assert len(ax.patches) == 1                 # the cell where most runs end at 0
    assert ax.patches[0].get_xy() == (0.5, 0.5)
    with pytest.raises(ValueError, match="no 'phase'"):
        plot_gd_outcomes([ax], {k: v for k, v in _bench().items() if k != "phase"})
    with pytest.raises(ValueError, match="panels"):
        plot_gd_outcomes([ax, ax], _bench())
