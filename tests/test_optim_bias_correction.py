"""Adam without bias correction (the option added for chapter 2)."""

import numpy as np
import pytest

from mfbook.core import Adam, descend


def fun(x):
    return 0.5 * float(x @ x), x.copy()


def by_hand(x0, lr, steps, corrected, b1=0.9, b2=0.999, eps=1e-8):
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    for t in range(1, steps + 1):
        g = x.copy()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        mh, vh = (m / (1 - b1**t), v / (1 - b2**t)) if corrected else (m, v)
        x = x - lr * mh / (np.sqrt(vh) + eps)
    return x


@pytest.mark.parametrize("corrected", [True, False])
def test_adam_matches_the_hand_written_rule(corrected):
    x0 = np.random.default_rng(0).normal(size=5)
    res = descend(fun, x0, Adam(0.01, bias_correction=corrected), 50)
    assert np.allclose(res.x, by_hand(x0, 0.01, 50, corrected), rtol=1e-12, atol=1e-14)


def test_without_correction_the_first_step_is_larger():
    # t = 1: corrected step lr * g / |g| = lr; uncorrected lr * 0.1 g / (sqrt(0.001) |g|)
    x0 = np.array([1.0, -2.0])
    a = descend(fun, x0, Adam(0.01), 1).x - x0
    b = descend(fun, x0, Adam(0.01, bias_correction=False), 1).x - x0
    assert np.allclose(np.abs(a), 0.01, rtol=1e-6)
    assert np.allclose(np.abs(b), 0.01 * 0.1 / np.sqrt(0.001), rtol=1e-6)
    assert "bias_correction=False" in repr(Adam(0.01, bias_correction=False))
