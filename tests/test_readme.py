"""The README's MovieLens example runs as written, on a u.data file the test writes."""

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## A recommender on a MovieLens file"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def write_u_data(path: Path, seed: int = 0) -> None:
    """A MovieLens-100K-format file: tab-separated user, item, rating (1-5), timestamp, with
    1-based ids that have gaps, from a low-rank truth plus noise."""
    rng = np.random.default_rng(seed)
    m, n = 300, 200
    users = np.sort(rng.choice(np.arange(1, 1000), m, replace=False))
    items = np.sort(rng.choice(np.arange(1, 2000), n, replace=False))
    users[0], items[0] = 196, 242                      # the pair the example queries
    U, V = rng.normal(size=(m, 3)), rng.normal(size=(n, 3))
    b, c = rng.normal(0, 0.5, m), rng.normal(0, 0.5, n)
    cells = rng.choice(m * n, 20_000, replace=False)
    u, i = cells // n, cells % n
    signal = 3.5 + b[u] + c[i] + 0.5 * (U[u] * V[i]).sum(1)
    stars = np.clip(np.rint(signal + rng.normal(0, 0.3, len(u))), 1, 5)
    stamps = rng.integers(874_724_710, 893_286_638, len(u))
    lines = [f"{users[a]}\t{items[b]}\t{int(r)}\t{t}" for a, b, r, t in zip(u, i, stars, stamps)]
    path.write_text("\n".join(lines) + "\n")


def test_the_readme_example_has_ten_lines():
    code = readme_example()
    assert len([line for line in code.splitlines() if line.strip()]) == 10


def test_the_readme_example_fits_a_movielens_file(tmp_path, monkeypatch, capsys):
    write_u_data(tmp_path / "u.data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    match = re.fullmatch(r"test RMSE (\d\.\d{3}); user 196 on item 242: (\d\.\d\d)\n", out)
    assert match, out
    rmse, pred = float(match[1]), float(match[2])
    y_test = namespace["y_test"]
    mean_only = np.sqrt(np.mean((y_test - namespace["y_train"].mean()) ** 2))
    assert rmse < 0.9 * mean_only                      # it learned something
    assert 1.0 <= pred <= 5.0                          # clipped to the observed stars
