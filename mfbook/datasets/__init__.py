"""Data sets: synthetic problems with a known truth, and a reader for MovieLens files.

* :func:`streamrec`, :func:`rating_matrix`, :func:`sales_matrix`, :func:`movielens_like` --
  the synthetic data of the book's source documents (chapters 2, 3, 5 and the benchmarks),
  each a :class:`SyntheticRatings` holding what a learner observes and the truth behind it,
  and :func:`truncation_mse`, chapter 5's reference error;
* :func:`load_movielens` -- a MovieLens rating file from a local path, read into a
  :class:`~mfbook.core.Ratings` with its original ids (:class:`MovieLens`).

Nothing here downloads anything.
"""

from ._movielens import MovieLens, load_movielens
from ._synthetic import (SyntheticRatings, movielens_like, rating_matrix, sales_matrix,
                         skewed_pairs, streamrec, truncation_mse)

__all__ = ["SyntheticRatings", "streamrec", "rating_matrix", "sales_matrix", "truncation_mse",
           "movielens_like", "skewed_pairs",
           "MovieLens", "load_movielens"]
