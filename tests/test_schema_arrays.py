"""`schema.str_array`: Arrow builds the text columns straight from the lists, giving exactly the array
`pd.array(values, dtype="string[pyarrow]")` gives, for any value a column can hold."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from forensics.read.schema import STR, make_frame, str_array


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["a", None, "b"],
        [None, None],
        ["x", float("nan"), "<script>", "ünïcödé", ""],
        ["a", 1, None, True],  # no text: pandas makes it text
        ["\ud800 lone surrogate"],  # not valid UTF-8: pandas decides what happens
    ],
)
def test_as_pandas_builds_it(values: list[Any]) -> None:
    try:
        want = pd.array(values, dtype="string[pyarrow]")
    except Exception as e:  # noqa: BLE001 - whatever pandas raises, str_array raises too
        with pytest.raises(type(e)):
            str_array(values)
        return
    got = str_array(values)
    assert got.dtype == want.dtype
    assert got.equals(want)
    assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in want]


def test_frames_hold_pyarrow_text() -> None:
    df = make_frame({"pod": STR}, {"pod": ["web-1", None]})
    assert str(df["pod"].dtype) == "string" and df["pod"].dtype.storage == "pyarrow"
    assert df["pod"].isna().tolist() == [False, True]
