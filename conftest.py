"""Repository-wide pytest set-up.

nbval resolves ``--nbval-sanitize-with`` against the current directory; make it absolute
so that ``pytest`` works from any directory inside the repository.
"""

from pathlib import Path


def pytest_configure(config):
    path = getattr(config.option, "nbval_sanitize_with", None)
    if path and not Path(path).is_absolute():
        config.option.nbval_sanitize_with = str(Path(config.rootpath) / path)
