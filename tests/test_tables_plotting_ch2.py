"""Text tables of mfbook.book and the optimizer figures of mfbook.plotting."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mfbook.book import Column, format_table, format_value  # noqa: E402
from mfbook.landscape import convergence_factor, stability_limit  # noqa: E402
from mfbook.plotting import (METHOD_COLORS, finish_axes, plot_convergence_factors,  # noqa: E402
                             plot_lr_sweep, plot_series)


def test_format_value_rounding_and_missing():
    assert format_value(-4e-7, ".4f") == "0.0000"
    assert format_value(-0.00005, ".4f") in ("0.0000", "-0.0001")
    assert format_value(-0.0, ".1e") == "0.0e+00"
    assert format_value(float("nan"), ".2f", missing="never") == "never"
    assert format_value(None, "d", missing="never") == "never"
    assert format_value(0.12345, ".1%") == "12.3%"
    assert format_value(3, "d") == "3" and format_value("x", "s") == "x"
    assert format_value(2.5, lambda v: f"<{v}>") == "<2.5>"
    assert format_value(0.1234567, "g") == "0.123457"


def test_format_table_layout():
    text = format_table([["GD", 1.23456, 40], ["Adam", None, 5]],
                        [Column("", "s", 6), ("final\nloss", ".3f", 8), ("steps", "d", 7)],
                        missing="never")
    assert text.split("\n") == ["         final",
                                "          loss  steps",
                                "GD       1.235     40",
                                "Adam     never      5"]
    one = format_table([], [("a", "s", 3), ("b", "d", 4)])
    assert one == "a     b"
    wide = format_table([["x", "123456"]], [("a", "s", 2), ("b", "s", 4)])
    assert wide.split("\n")[1] == "x  123456"                 # one space before a wide value


def test_format_table_validation():
    with pytest.raises(ValueError, match="row 0 has 1 values for 2 columns"):
        format_table([[1]], [("a", "d", 3), ("b", "d", 3)])
    with pytest.raises(ValueError, match="width"):
        format_table([[1]], [("a", "d", 0)])
    with pytest.raises(ValueError, match="columns"):
        format_table([], [])


def test_plot_series_colours_log_and_styles():
    fig, ax = plt.subplots()
    x = np.arange(4.0)
    lines = plot_series(ax, {"GD": (x, [1, 0.1, 0.0, -1]), "Adam, cosine": (x, x + 1)},
                        log=True, styles={"Adam, cosine": {"ls": "--"}}, lw=3)
    assert [ln.get_label() for ln in lines] == ["GD", "Adam, cosine"]
    assert lines[0].get_color() == METHOD_COLORS["GD"]
    assert lines[1].get_color() == METHOD_COLORS["Adam"] and lines[1].get_linestyle() == "--"
    assert np.isnan(lines[0].get_ydata()[2:]).all() and ax.get_yscale() == "log"
    assert lines[0].get_linewidth() == 3
    finish_axes(ax, xlabel="t", ylabel="loss", title="T")
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("t", "loss", "T")
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="series 'bad'"):
        plot_series(ax, {"bad": ([1, 2], [1])})
    plt.close(fig)


def test_plot_convergence_factors_and_lr_sweep():
    fig, (a1, a2) = plt.subplots(1, 2)
    eh = np.linspace(-0.5, 4.0, 50)
    facs = {m: convergence_factor(m, 1.0, eh) for m in ("GD", "Momentum")}
    lims = {m: stability_limit(m) for m in facs}
    lines = plot_convergence_factors(a1, eh, facs, limits=lims)
    assert len(lines) == 2 and np.allclose(lines[1].get_ydata(), facs["Momentum"])
    vlines = [ln for ln in a1.get_lines() if ln.get_xdata()[0] == ln.get_xdata()[-1]
              and ln.get_linestyle() == "--"]
    assert sorted(ln.get_xdata()[0] for ln in vlines) == [2.0, 3.8]
    recs = {"GD": [{"lr": 1.0, "failed": False, "final_loss": 1.5},
                   {"lr": 2.0, "failed": False, "final_loss": 1.1},
                   {"lr": 4.0, "failed": True, "final_loss": None}]}
    out = plot_lr_sweep(a2, recs, base=1.0, chosen={"GD": 2.0}, limits={"GD": 3.0},
                        fail_level=5.0)
    assert np.allclose(out[0].get_ydata(), [0.5, 0.1])
    marks = {ln.get_marker(): ln for ln in a2.get_lines()}
    assert np.allclose(marks["x"].get_ydata(), [5.0]) and np.allclose(marks["*"].get_xdata(), [2.0])
    assert a2.get_xscale() == "log" and a2.get_yscale() == "log"
    plt.close(fig)
