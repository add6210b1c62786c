"""mfbook.book.text_table: the chapters' fixed-width tables."""

import pytest

from mfbook.book import text_table


def test_each_cell_takes_its_column_spec_and_titles_its_width():
    out = text_table([("name", "<8"), ("x", ">7.3f"), ("ok", ">4")],
                     [("a", 1.23456, "yes"), ("bb", -0.5, "NO")])
    assert out.splitlines() == ["name          x  ok",
                                "a         1.235 yes",
                                "bb       -0.500  NO"]
    assert all(len(line) == 19 for line in out.splitlines())


def test_strings_in_numeric_columns_keep_the_width_and_rows_need_every_column():
    assert text_table([("v", ">6.2f")], [("-",)], header=False) == "     -"
    assert text_table([("n", "0>4d")], [(7,)]) == "   n\n0007"
    with pytest.raises(ValueError, match="row 1 has 1 values for 2 columns"):
        text_table([("a", "<3"), ("b", ">3")], [(1, 2), (3,)])
