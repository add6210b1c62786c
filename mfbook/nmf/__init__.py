"""Non-negative factorization of a partially observed matrix (chapter 5).

* :func:`nmf_mu`, :func:`nmf_hals`, :func:`nmf_anls` -- masked multiplicative updates
  (Frobenius and Kullback-Leibler), hierarchical alternating least squares and alternating
  exact non-negative least squares, with
  :func:`masked_frobenius`, :func:`masked_kl`, :func:`nmf_init` and :class:`NMFResult`;
* :class:`ExpMF` and :func:`fit_lbfgs` -- the exp-parametrized factorization of the Keras
  question (positive factors written as exponentials) and a full-batch L-BFGS fit;
* :func:`fit_keras_like` with :class:`EarlyStopping` and :class:`ReduceLROnPlateau` -- a
  mini-batch loop that follows Keras' ``Model.fit`` rule for rule;
* :func:`fit_keras` and :func:`keras_expmf` -- the same model and recipe in real Keras
  (optional ``keras`` extra, imported only when called), on the same batches.
"""

from ._expmf import ExpMF, LBFGSRecord, fit_lbfgs
from ._keraslike import (Callback, EarlyStopping, KerasFit, ReduceLROnPlateau, TrainState,
                         fit_keras_like, keras_like_batches)
from ._keras import (fit_keras, fit_keras_network, keras_expmf, keras_mlp, keras_predict_matrix,
                     keras_version)
from ._masked import (NMFResult, masked_frobenius, masked_kl, nmf_anls, nmf_hals, nmf_init,
                      nmf_mu)

__all__ = [
    "NMFResult", "nmf_init", "masked_frobenius", "masked_kl", "nmf_mu", "nmf_hals", "nmf_anls",
    "ExpMF", "LBFGSRecord", "fit_lbfgs",
    "TrainState", "Callback", "EarlyStopping", "ReduceLROnPlateau", "KerasFit", "fit_keras_like",
    "keras_like_batches", "fit_keras", "keras_expmf", "keras_predict_matrix",
    "keras_version", "keras_mlp", "fit_keras_network",
]
