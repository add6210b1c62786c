"""First-order optimizers for any differentiable objective.

An *objective* here is any callable ``fun(x) -> (loss, grad)`` on a flat parameter
vector; :class:`mfbook.core.MFObjective` is one.  Each optimizer is a small object
holding its hyper-parameters and state, with ``reset`` and an in-place ``step``;
:func:`mfbook.core.descend` runs it and returns an :class:`~mfbook.core.OptimResult`.

Update rules, with :math:`g_t = \\nabla L(x_t)` and step size :math:`\\eta`:

* gradient descent: :math:`x_{t+1} = x_t - \\eta g_t`;
* heavy ball (Polyak): :math:`m_{t+1} = \\beta m_t + g_t,\\ x_{t+1} = x_t - \\eta m_{t+1}`;
* Nesterov, in the form of Sutskever et al. (2013) used by PyTorch:
  :math:`m_{t+1} = \\beta m_t + g_t,\\ x_{t+1} = x_t - \\eta (g_t + \\beta m_{t+1})`,
  which is Nesterov's look-ahead method written in the look-ahead variable;
* Adam (Kingma and Ba, 2015): :math:`m_{t+1} = \\beta_1 m_t + (1-\\beta_1) g_t`,
  :math:`v_{t+1} = \\beta_2 v_t + (1-\\beta_2) g_t^2`,
  :math:`x_{t+1} = x_t - \\eta\\, \\hat m / (\\sqrt{\\hat v} + \\epsilon)` with the bias
  corrections :math:`\\hat m = m_{t+1}/(1-\\beta_1^{t+1})`,
  :math:`\\hat v = v_{t+1}/(1-\\beta_2^{t+1})`.  With ``eps_hat=True`` the
  :math:`\\epsilon` is added before the correction of :math:`v` (TensorFlow/Keras form):
  :math:`x_{t+1} = x_t - \\eta \\frac{\\sqrt{1-\\beta_2^{t+1}}}{1-\\beta_1^{t+1}}
  \\frac{m_{t+1}}{\\sqrt{v_{t+1}} + \\epsilon}`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ._validation import check_bool, check_real

__all__ = ["Optimizer", "GradientDescent", "HeavyBall", "Nesterov", "Adam"]


def _check_lr(lr: float) -> float:
    return check_real("lr", lr, minimum=0.0, min_open=True)


def _check_beta(name: str, beta: float) -> float:
    return check_real(name, beta, minimum=0.0, maximum=1.0, max_open=True)


class Optimizer(ABC):
    """Base class: hyper-parameters in the constructor, state created by :meth:`reset`."""

    name: str = "optimizer"

    @abstractmethod
    def reset(self, x0: np.ndarray) -> None:
        """Forget all state; called by :func:`~mfbook.core.descend` at the start of every run."""

    @abstractmethod
    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        """Update ``x`` in place from the gradient at ``x``."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class GradientDescent(Optimizer):
    """Plain (full-batch) gradient descent :math:`x \\leftarrow x - \\eta \\nabla L(x)`."""

    name = "GD"

    def __init__(self, lr: float) -> None:
        self.lr = _check_lr(lr)

    def reset(self, x0: np.ndarray) -> None:
        pass

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        x -= self.lr * grad


class _Momentum(Optimizer):
    """Shared state of the two momentum methods: a velocity :math:`m`, zero at the start."""

    def __init__(self, lr: float, beta: float = 0.9) -> None:
        self.lr = _check_lr(lr)
        self.beta = _check_beta("beta", beta)
        self._m: np.ndarray | None = None

    def reset(self, x0: np.ndarray) -> None:
        self._m = np.zeros_like(x0)

    def _accumulate(self, grad: np.ndarray) -> np.ndarray:
        self._m *= self.beta
        self._m += grad
        return self._m


class HeavyBall(_Momentum):
    """Polyak's heavy-ball momentum: :math:`m \\leftarrow \\beta m + g,\\ x \\leftarrow x - \\eta m`."""

    name = "Momentum"

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        x -= self.lr * self._accumulate(grad)


class Nesterov(_Momentum):
    """Nesterov momentum: :math:`m \\leftarrow \\beta m + g,\\ x \\leftarrow x - \\eta(g + \\beta m)`."""

    name = "Nesterov"

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        x -= self.lr * (grad + self.beta * self._accumulate(grad))


class Adam(Optimizer):
    """Adam with bias correction (see the module docstring for both epsilon placements).

    ``bias_correction=False`` drops the corrections (:math:`\\hat m = m_{t+1}`,
    :math:`\\hat v = v_{t+1}`), the variant whose early steps the correction was designed
    to fix :cite:`kingma2015adam`.
    """

    name = "Adam"

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        eps_hat: bool = False,
        bias_correction: bool = True,
    ) -> None:
        self.lr = _check_lr(lr)
        self.beta1 = _check_beta("beta1", beta1)
        self.beta2 = _check_beta("beta2", beta2)
        self.eps = check_real("eps", eps, minimum=0.0)
        self.eps_hat = check_bool("eps_hat", eps_hat)
        self.bias_correction = check_bool("bias_correction", bias_correction)
        self._m: np.ndarray | None = None
        self._v: np.ndarray | None = None
        self._t = 0

    def reset(self, x0: np.ndarray) -> None:
        self._m = np.zeros_like(x0)
        self._v = np.zeros_like(x0)
        self._t = 0

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        self._t += 1
        self._m += (1.0 - self.beta1) * (grad - self._m)
        self._v += (1.0 - self.beta2) * (grad * grad - self._v)
        if self.bias_correction:
            c1 = 1.0 - self.beta1**self._t
            c2 = 1.0 - self.beta2**self._t
        else:
            c1 = c2 = 1.0
        if self.eps_hat:
            x -= (self.lr * np.sqrt(c2) / c1) * self._m / (np.sqrt(self._v) + self.eps)
        else:
            x -= self.lr * (self._m / c1) / (np.sqrt(self._v / c2) + self.eps)
