"""mfbook: the tested code behind the book *Loss landscapes of matrix factorization*.

One subpackage per part of the book; each lists its public names in its ``__init__`` and
keeps its implementation in private modules (``_name.py``), so that files can move without
changing an import of the chapters:

- :mod:`mfbook.core` -- observed ratings, the factorization objective, optimizers and the
  training loop, metrics, finite differences and the validation layer every part uses;
- :mod:`mfbook.datasets` -- the synthetic data of the source documents, and a MovieLens reader;
- :mod:`mfbook.landscape` -- slices, Hessian spectra, critical points, symmetry orbits,
  polished minima and optimizer trajectories;
- :mod:`mfbook.recommender` -- the latent factor estimator, ALS, and plain-loop references;
- :mod:`mfbook.deep` -- regularized deep matrix factorization and all its critical points;
- :mod:`mfbook.nmf` -- non-negative and exp-parametrized factorization, a Keras-faithful loop;
- :mod:`mfbook.plotting` -- figure helpers shared by the chapters;
- :mod:`mfbook.book` -- tooling of the book itself (glue, stored results, execution, offline HTML).

The import graph points one way: ``core`` <- ``datasets``, ``landscape``, ``recommender``,
``nmf`` <- ``deep`` (which uses ``landscape``); ``plotting`` and ``book`` stand apart.
"""

__version__ = "0.2.0"
