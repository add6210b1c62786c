import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mfbook.landscape import CRITICAL_POINT_KINDS  # noqa: E402
from mfbook.plotting import (KIND_STYLES, contour_landscape,  # noqa: E402
                             mark_critical_points, plot_path, surface_figure)


@pytest.fixture
def grid():
    x = np.linspace(-1, 1, 7)
    y = np.linspace(-2, 2, 5)
    X, Y = np.meshgrid(x, y)
    return x, y, 1.0 + X**2 + Y**2


def test_every_kind_has_a_style():
    assert set(KIND_STYLES) == set(CRITICAL_POINT_KINDS)


def test_contour_landscape_linear_and_log(grid):
    x, y, Z = grid
    fig, ax = plt.subplots()
    cs = contour_landscape(ax, x, y, Z, levels=10)
    assert len(fig.axes) == 2                                    # the colour bar
    cs_log = contour_landscape(ax, x, y, Z, levels=8, log=True, colorbar=False)
    assert np.allclose(np.diff(np.log(cs_log.levels)), np.log(Z.max() / Z.min()) / 7)
    assert cs.levels[0] <= Z.min() and cs.levels[-1] >= Z.max()
    fig2, ax2 = plt.subplots()
    contour_landscape(ax2, x, y, Z * 50, levels=8, log=True)          # spans 50..450: decade 100
    labels = [t.get_text() for t in fig2.axes[1].get_yticklabels()]
    assert len(labels) == 5 and all(labels)                           # readable tick labels
    Zwide = 0.5 * Z ** 4
    contour_landscape(ax2, x, y, Zwide, levels=8, log=True)
    assert [t.get_text() for t in fig2.axes[2].get_yticklabels()] == ["1", "10", "100"]
    plt.close(fig2)
    plt.close(fig)


def test_contour_landscape_validation(grid):
    x, y, Z = grid
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"Z must have shape \(len\(y\), len\(x\)\)"):
        contour_landscape(ax, x, y, Z.T)
    with pytest.raises(ValueError, match="Z > 0"):
        contour_landscape(ax, x, y, Z - 5, log=True)
    with pytest.raises(ValueError, match="finite"):
        contour_landscape(ax, x, y, np.where(Z > 2, np.inf, Z))
    with pytest.raises(ValueError, match="levels"):
        contour_landscape(ax, x, y, Z, levels=1)
    plt.close(fig)


def test_mark_critical_points_and_path():
    fig, ax = plt.subplots()
    arts = mark_critical_points(ax, np.array([[0, 0], [1, 1]]), ["strict saddle", "minimum"],
                                labels=["saddle", None], annotate=True)
    assert len(arts) == 2
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ["saddle"]
    assert len(ax.texts) == 1
    with pytest.raises(ValueError, match="unknown kind"):
        mark_critical_points(ax, np.zeros((1, 2)), ["bowl"])
    with pytest.raises(ValueError, match="one entry per point"):
        mark_critical_points(ax, np.zeros((2, 2)), ["minimum"])
    line = plot_path(ax, np.array([[0, 0], [0.5, 0.2], [1, 1]]), color="C1", label="GD")
    assert np.array_equal(line.get_xdata(), [0, 0.5, 1])
    with pytest.raises(ValueError, match="path must have shape"):
        plot_path(ax, np.zeros((3, 3)))
    plt.close(fig)


def test_surface_figure_rounds_and_marks(grid):
    x, y, Z = grid
    Z = Z + 1e-9
    fig = surface_figure(x, y, Z, points=np.array([[0.0, 0.0, 1.0]]), kinds=["minimum"],
                         labels=["min"], zmax=3.0, title="t", axis_titles=("a", "b", "L"))
    surf, pt = fig.data
    z = np.array(surf.z, dtype=float)
    assert np.array_equal(z, np.round(Z, 6))                     # data kept, rounded
    assert list(fig.layout.scene.zaxis.range) == [0.0, 3.0]      # clipped by the axis
    assert surf.cmax == 3.0 and surf.cmin == round(Z.min(), 6)
    assert pt.name == "min" and fig.layout.scene.xaxis.title.text == "a"
    assert fig.layout.scene.zaxis.title.text == "L"
    with pytest.raises(ValueError, match="zmax must exceed"):
        surface_figure(x, y, Z, zmax=0.5)
    with pytest.raises(ValueError, match=r"points must have shape \(P, 3\)"):
        surface_figure(x, y, Z, points=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="unknown kind"):
        surface_figure(x, y, Z, points=np.zeros((1, 3)), kinds=["bowl"])
