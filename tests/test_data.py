import numpy as np
import pytest

from mfbook.core import Ratings, as_generator
from mfbook.datasets import load_movielens, rating_matrix, sales_matrix, streamrec


def small():
    return Ratings([0, 0, 1, 2], [1, 2, 0, 2], [5.0, 3.0, 4.0, 1.0], (3, 4))


# ------------------------------------------------------------------ Ratings container
def test_dense_round_trip_with_nan_and_mask():
    r = small()
    dense = r.to_dense()
    assert dense.shape == (3, 4)
    assert np.isnan(dense[0, 0]) and dense[0, 1] == 5.0
    again = Ratings.from_dense(dense)
    assert np.array_equal(again.to_dense(fill=0), r.to_dense(fill=0))
    filled = r.to_dense(fill=0.0)
    via_mask = Ratings.from_dense(filled, r.mask())
    assert via_mask.nnz == 4 and np.array_equal(via_mask.values, again.values)


def test_from_dense_keeps_observed_zeros_with_mask():
    m = np.array([[0.0, 2.0], [3.0, 0.0]])
    r = Ratings.from_dense(m, np.array([[True, True], [False, True]]))
    assert r.nnz == 3 and r.values.tolist() == [0.0, 2.0, 0.0]


def test_counts_density_mean():
    r = small()
    assert r.row_counts().tolist() == [2, 1, 1]
    assert r.col_counts().tolist() == [1, 1, 2, 0]
    assert r.density == pytest.approx(4 / 12)
    assert r.mean() == pytest.approx(13 / 4)


def test_arrays_are_read_only():
    r = small()
    with pytest.raises(ValueError):
        r.values[0] = 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rows=[], cols=[], values=[], shape=(2, 2)), "empty"),
        (dict(rows=[0, 1], cols=[0], values=[1.0, 2.0], shape=(2, 2)), "same length"),
        (dict(rows=[0, 2], cols=[0, 0], values=[1.0, 2.0], shape=(2, 2)), "rows index out of range"),
        (dict(rows=[0, 1], cols=[-1, 0], values=[1.0, 2.0], shape=(2, 2)), "cols index out of range"),
        (dict(rows=[0, 1], cols=[0, 0], values=[1.0, np.nan], shape=(2, 2)), "finite"),
        (dict(rows=[0, 1], cols=[0, 0], values=[np.inf, 1.0], shape=(2, 2)), "finite"),
        (dict(rows=[0, 0], cols=[1, 1], values=[1.0, 2.0], shape=(2, 2)), "more than once"),
        (dict(rows=[0], cols=[0], values=[1.0], shape=(0, 2)), "shape"),
        (dict(rows=[0.5], cols=[0], values=[1.0], shape=(2, 2)), "integer"),
    ],
)
def test_bad_input_raises_naming_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Ratings(**kwargs)


def test_from_dense_validation():
    with pytest.raises(ValueError, match="two-dimensional"):
        Ratings.from_dense(np.ones(3))
    with pytest.raises(ValueError, match="mask must have the shape"):
        Ratings.from_dense(np.ones((2, 2)), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="finite"):
        Ratings.from_dense(np.array([[np.nan, 1.0]]), np.array([[True, True]]))
    with pytest.raises(ValueError, match="empty"):
        Ratings.from_dense(np.full((2, 2), np.nan))


def test_split_partitions_entries_deterministically():
    r = Ratings.from_dense(np.arange(100.0).reshape(10, 10))
    train, valid, test = r.split([0.6, 0.2, 0.2], seed=3)
    assert (train.nnz, valid.nnz, test.nnz) == (60, 20, 20)
    linear = np.concatenate([p.rows * 10 + p.cols for p in (train, valid, test)])
    assert np.array_equal(np.sort(linear), np.arange(100))
    again = r.split([0.6, 0.2, 0.2], seed=3)
    assert np.array_equal(again[1].values, valid.values)
    other = r.split([0.6, 0.2, 0.2], seed=4)
    assert not np.array_equal(other[1].values, valid.values)
    # each part keeps the original (row-major) order
    assert np.all(np.diff(train.rows * 10 + train.cols) > 0)


def test_split_sizes_floor_all_but_first():
    r = Ratings.from_dense(np.ones((7, 17)))  # 119 entries
    a, b = r.split([0.8, 0.2], seed=0)
    assert (a.nnz, b.nnz) == (119 - int(0.2 * 119), int(0.2 * 119))


@pytest.mark.parametrize("fractions", [[1.0], [0.5, 0.6], [0.7, 0.0, 0.3], [-0.2, 1.2]])
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        small().split(fractions, seed=0)


def test_complement_and_with_values():
    r = small()
    full = np.arange(12.0).reshape(3, 4)
    hidden = r.complement(full)
    assert hidden.nnz == 8
    assert not np.any(hidden.mask() & r.mask())
    assert np.array_equal(hidden.values, full[hidden.rows, hidden.cols])
    assert np.array_equal(r.with_values(full[r.rows, r.cols]).values, [1.0, 2.0, 4.0, 10.0])
    with pytest.raises(ValueError, match="shape"):
        r.with_values([1.0])


def test_as_generator():
    g = np.random.default_rng(0)
    assert as_generator(g) is g
    assert as_generator(5).random() == np.random.default_rng(5).random()
    with pytest.raises(ValueError, match="seed"):
        as_generator("five")


# ------------------------------------------------------------------ generators
def test_streamrec_matches_source_generator_draw_for_draw():
    # The source document's generator, transcribed literally.
    rng = np.random.default_rng(42)
    U = rng.normal(0, 1, (50, 5))
    V = rng.normal(0, 1, (20, 5))
    R_true = U @ V.T
    mask = rng.random((50, 20)) < 0.1
    R_obs = np.full((50, 20), np.nan)
    R_obs[mask] = R_true[mask] + rng.normal(0, 0.3, mask.sum())

    data = streamrec(n_users=50, n_items=20, seed=42)
    assert np.array_equal(data.truth, R_true)
    assert np.array_equal(data.observed.to_dense(), R_obs, equal_nan=True)


def test_streamrec_distribution():
    data = streamrec(seed=0)
    obs = data.observed
    assert obs.shape == (500, 200)
    assert obs.density == pytest.approx(0.1, abs=0.005)
    noise = obs.values - data.truth[obs.rows, obs.cols]
    assert noise.std() == pytest.approx(0.3, rel=0.05)
    assert np.linalg.matrix_rank(data.truth) == 5
    assert data.row_factors.shape == (500, 5)


def test_generators_are_deterministic_for_a_seed():
    for gen in (streamrec, rating_matrix, sales_matrix):
        a, b, c = gen(seed=7), gen(seed=7), gen(seed=8)
        assert np.array_equal(a.observed.values, b.observed.values)
        assert not np.array_equal(a.truth, c.truth)


def test_rating_matrix_range_noise_and_coverage():
    data = rating_matrix(seed=42)
    assert data.truth.min() == pytest.approx(1.0) and data.truth.max() == pytest.approx(5.0)
    assert data.noisy.min() >= 1.0 and data.noisy.max() <= 5.0
    obs = data.observed
    assert obs.shape == (100, 60)
    assert obs.row_counts().min() >= 2 and obs.col_counts().min() >= 2
    assert np.array_equal(obs.values, data.noisy[obs.rows, obs.cols])
    assert obs.density == pytest.approx(0.2, abs=0.03)


def test_rating_matrix_coverage_guarantee_when_sparse():
    data = rating_matrix(n_users=40, n_items=30, obs_rate=0.02, min_per_row=3, min_per_col=2, seed=1)
    assert data.observed.row_counts().min() >= 3
    assert data.observed.col_counts().min() >= 2


def test_rating_matrix_reproduces_source_counts():
    # The latent factor project reports 952 training and 238 test ratings for seed 42.
    rng = np.random.default_rng(42)
    data = rating_matrix(seed=rng)
    test, train = data.observed.split([0.2, 0.8], seed=rng)
    assert (train.nnz, test.nnz) == (952, 238)


def test_sales_matrix_structure_and_coverage():
    data = sales_matrix(seed=3)
    obs = data.observed
    assert obs.shape == (1000, 100)
    assert obs.density == pytest.approx(0.5, abs=0.01)
    assert obs.col_counts().min() > np.sqrt(1000)
    assert obs.row_counts().min() > np.sqrt(100)
    assert data.truth.min() > 0
    assert np.allclose(data.truth, data.row_factors @ data.col_factors.T)
    # factor columns decay: weight 10^(-2 a / 11) times a log-normal of median 1
    medians = np.median(data.row_factors, axis=0)
    assert medians[0] / medians[-1] == pytest.approx(100.0, rel=0.3)
    assert data.hidden().nnz == 100_000 - obs.nnz


def test_sales_matrix_coverage_failure_is_reported():
    with pytest.raises(ValueError, match="coverage"):
        sales_matrix(n_products=400, n_stores=100, obs_rate=0.05, seed=0, max_tries=3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: streamrec(true_rank=0), "true_rank"),
        (lambda: streamrec(obs_rate=0.0), "obs_rate"),
        (lambda: streamrec(noise_std=-1.0), "noise_std"),
        (lambda: rating_matrix(n_items=3, min_per_row=5), "min_per_row"),
        (lambda: sales_matrix(rank=0), "rank"),
    ],
)
def test_generator_arguments_are_validated(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------------ MovieLens loader
def test_load_movielens_u_data(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
                    "196\t377\t4\t881250950\n")
    ml = load_movielens(path)
    assert ml.ratings.shape == (3, 3)
    assert ml.user_ids.tolist() == [22, 186, 196]
    assert ml.item_ids.tolist() == [242, 302, 377]
    dense = ml.ratings.to_dense()
    assert dense[2, 0] == 3.0 and dense[0, 2] == 1.0 and dense[2, 2] == 4.0
    assert ml.timestamps.tolist() == [881250949, 891717742, 878887116, 881250950]


def test_load_movielens_ratings_dat(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    ml = load_movielens(path)
    assert ml.ratings.shape == (2, 2)
    assert ml.item_ids.tolist() == [661, 1193]
    assert ml.ratings.to_dense()[1, 1] == 4.0


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("1,2,3,4\n", "tab-separated"),
        ("1\t2\t3\n1\t3\t4\n", "4 fields"),
        ("1\t2\t3\t4\n1\t2\t5\t6\n", "lines 1 and 2: user 1 rated item 2 twice"),
        ("1\t2\tx\t4\n", "line 1: the rating field must be a finite number"),
        ("1\t2\tnan\t4\n", "line 1: the rating field must be a finite number"),
        ("1\t2\t3\t4\n2.5\t2\t3\t4\n", "line 2: the user field must be an integer.*'2.5'"),
        ("1\t2\t3\t4\nnan\t2\t3\t4\n", "line 2: the user field .*'nan'"),
        ("1\t2\t3\t4\n1\t1e19\t3\t4\n", "line 2: the item field .*'1e19'"),
        ("1\t2\t3\t4\n\n#5\t2\t3\t4\n", "line 3: the user field .*'#5'.*comments='#'"),
        ("1\t2\t3\t4\n1\t3\t4\n", "line 2: expected 4 fields"),
    ],
)
def test_load_movielens_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.data"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_movielens(path)


def test_load_movielens_keeps_ids_and_reports_duplicates_with_file_ids(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text("10::700::5::1\n\n30::500::3::2\n10::700::4::3\n")
    with pytest.raises(ValueError, match=r"ratings.dat, lines 1 and 4: user 10 rated item 700"):
        load_movielens(path)


def test_load_movielens_comments_only_when_asked(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("1\t2\t3\t4\n# a comment\n5\t6\t7\t8  # trailing\n")
    ml = load_movielens(path, comments="#")
    assert ml.user_ids.tolist() == [1, 5] and ml.timestamps.tolist() == [4, 8]
    with pytest.raises(ValueError, match="line 2"):
        load_movielens(path)
    with pytest.raises(TypeError, match="comments"):
        load_movielens(path, comments=1)


def test_load_movielens_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_movielens(tmp_path / "nope.dat")


def test_skewed_pairs_are_distinct_sorted_and_skewed():
    from mfbook.datasets import skewed_pairs

    rows, cols = skewed_pairs(2000, 500, 20_000, np.random.default_rng(0))
    keys = rows * 500 + cols
    assert len(keys) == 20_000 and np.all(np.diff(keys) > 0)        # distinct, sorted
    assert rows.min() >= 0 and rows.max() < 2000 and cols.max() < 500
    per_user = np.sort(np.bincount(rows, minlength=2000))[::-1]
    assert per_user[:200].sum() > 0.3 * 20_000  # top 10% of users: > 30% of pairs (uniform: ~13%)
    again = skewed_pairs(2000, 500, 20_000, np.random.default_rng(0))
    assert np.array_equal(again[0], rows) and np.array_equal(again[1], cols)


def test_skewed_pairs_refuses_bad_input():
    from mfbook.datasets import skewed_pairs

    with pytest.raises(ValueError, match="n_pairs must be at most"):
        skewed_pairs(3, 2, 7, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        skewed_pairs(3, 2, 4, 0)
    with pytest.raises(ValueError, match="n_users must be a positive integer"):
        skewed_pairs(0, 2, 1, np.random.default_rng(0))
