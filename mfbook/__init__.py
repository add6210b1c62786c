"""mfbook: the tested code behind the book *Loss landscapes of matrix factorization*.

Modules follow the story of the book:

- :mod:`mfbook.data` -- observed ratings, synthetic data sets, a MovieLens loader;
- :mod:`mfbook.objective` -- loss, gradient, Hessian and Hessian-vector products;
- :mod:`mfbook.optim` -- gradient descent, momentum, Nesterov, Adam and a training loop;
- :mod:`mfbook.als` -- alternating least squares for any objective convention;
- :mod:`mfbook.recommender` -- a scikit-learn style latent factor estimator (SGD, mini-batch, Adam, ALS);
- :mod:`mfbook.progress` -- a progress display for long fits, off in notebooks;
- :mod:`mfbook.reference` -- plain Python-loop versions of those solvers, to check them against;
- :mod:`mfbook.landscape` -- planes, directions, Hessian spectra, critical point classes;
- :mod:`mfbook.metrics` -- error metrics and symmetry-invariant distances between factorizations;
- :mod:`mfbook.trajectory` -- PCA of optimizer trajectories, random-walk baselines, Hessian along a path;
- :mod:`mfbook.minima` -- polishing end points to critical points, Hessian modulo symmetry, grouping;
- :mod:`mfbook.deep` -- regularized deep matrix factorization: derivatives, every critical point;
- :mod:`mfbook.expmf` -- the exp-parametrized factorization (loss, gradient, HVP, L-BFGS);
- :mod:`mfbook.nmf` -- masked non-negative factorization (multiplicative updates, HALS);
- :mod:`mfbook.keraslike` -- a Keras-faithful mini-batch loop, EarlyStopping, ReduceLROnPlateau;
- :mod:`mfbook.book` -- tooling of the book itself (executing notebooks, glue, offline HTML).
"""

__version__ = "0.1.0"
