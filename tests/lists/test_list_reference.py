"""The list reference is the sha256 of each row's Python repr, however the lines are built."""

import hashlib

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from lists.inputs import REFERENCE_COLUMNS, _reference_lines, _risk_reprs, list_reference


def row_by_row(scores: pl.DataFrame) -> str:
    """The reference as first defined: one repr line a row, fed to sha256 one by one."""
    digest = hashlib.sha256()
    for row in scores.select(REFERENCE_COLUMNS).iter_rows():
        digest.update(repr(row).encode() + b"\n")
    return "L" + digest.hexdigest()[:12]


printable = st.characters(min_codepoint=32, max_codepoint=126)
plain = st.text(alphabet=printable.filter(lambda c: c not in "'\\"), max_size=12)
texts = st.one_of(plain, st.text(alphabet=printable, max_size=6), st.text(max_size=6), st.none())
risks = st.one_of(
    st.floats(min_value=0, max_value=1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 5e-05, 1e-16, 0.1 + 0.2, 123456789012345678.0]),
    st.none(),
)


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={name: pl.Float64 if name == "risk" else pl.String for name in REFERENCE_COLUMNS},
        orient="row",
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, texts, texts, risks, texts, texts), max_size=8))
def test_the_reference_is_each_rows_repr_whatever_the_values(rows):
    # Texts of any characters (quotes, backslashes, accents, control characters) and nulls.
    scores = frame(rows)
    assert list_reference(scores) == row_by_row(scores)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(plain, plain, plain, risks, plain, plain), min_size=1, max_size=8))
def test_plain_texts_take_the_column_by_column_path(rows):
    scores = frame(rows)
    assert _reference_lines(scores) is not None
    assert list_reference(scores) == row_by_row(scores)


def test_quotes_backslashes_nulls_and_other_types_take_the_row_by_row_path():
    base = ("2026-01", "9990000018", "A81001", 0.25, "high", "m1")
    for position, odd in [(4, "it's"), (4, "'\"'"), (2, "A\\1"), (1, None), (4, "é")]:
        row = list(base)
        row[position] = odd
        assert _reference_lines(frame([tuple(row)])) is None
        assert list_reference(frame([tuple(row)])) == row_by_row(frame([tuple(row)]))
    typed = frame([base]).with_columns(pl.col("delivery_month").cast(pl.Categorical))
    assert _reference_lines(typed) is None
    assert list_reference(typed) == row_by_row(typed)
    assert list_reference(frame([])) == row_by_row(frame([]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(), st.floats(min_value=1e-5, max_value=1.0), st.none())))
def test_risks_are_written_as_python_writes_them(values):
    risk = pl.Series("risk", values, dtype=pl.Float64)
    assert _risk_reprs(risk).to_list() == [repr(value) for value in values]
    narrow = risk.cast(pl.Float32)
    assert _risk_reprs(narrow).to_list() == [repr(value) for value in narrow.to_list()]
