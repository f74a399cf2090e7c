"""The registry saves models reproducibly and replaces the current one only if not worse."""

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import registry
from models.registry import decide, load, register, save
from models.training import train_and_register
from tests.models.conftest import FEATURES, LABEL


def test_decide_replaces_when_not_worse_within_tolerance():
    assert decide("new", 0.80, None, None).replaced
    assert decide("new", 0.796, "old", 0.80).replaced  # within 0.005
    kept = decide("new", 0.79, "old", 0.80)
    assert not kept.replaced and kept.version_in_use == "old"
    assert "worse" in kept.reason
    same = decide("old", 0.80, "old", None)
    assert not same.replaced and same.version_in_use == "old"


def test_saved_model_loads_and_predicts_the_same(tmp_path, training_set, training_result):
    version = save(training_result.model, tmp_path)
    loaded = load(tmp_path, version)
    frame = training_set.validation
    np.testing.assert_array_equal(loaded.predict(frame), training_result.model.predict(frame))
    assert loaded.metadata["version"] == version
    metadata = json.loads((tmp_path / version / registry.METADATA_FILE).read_text())
    assert metadata["plan"]["validation_date"] == training_set.plan.validation_date.isoformat()
    assert [f["name"] for f in metadata["encoding"]["features"]] == [f.name for f in FEATURES]
    assert {"parameters", "best_iteration", "calibration"} <= set(metadata)


def test_rerun_gives_byte_identical_files(tmp_path, training_set):
    first = train_and_register(training_set, tmp_path / "a", features=FEATURES, label=LABEL)
    second = train_and_register(training_set, tmp_path / "b", features=FEATURES, label=LABEL)
    version = first.model_in_use.version
    assert second.model_in_use.version == version
    for name in (
        registry.MODEL_FILE,
        registry.VALIDATION_MODEL_FILE,
        registry.CALIBRATOR_FILE,
        registry.METADATA_FILE,
    ):
        assert (tmp_path / "a" / version / name).read_bytes() == (
            tmp_path / "b" / version / name
        ).read_bytes()
    again = train_and_register(training_set, tmp_path / "a", features=FEATURES, label=LABEL)
    assert not again.decision.replaced and "identical" in again.decision.reason


def test_a_worse_candidate_is_kept_out_and_the_reason_recorded(
    tmp_path, training_set, training_result
):
    good = training_result.model
    register(good, tmp_path, training_set.validation, LABEL)
    weak = train_and_register(
        training_set,
        tmp_path,
        features=[f for f in FEATURES if f.name in ("sex", "imd_decile")],
        label=LABEL,
    )
    assert not weak.decision.replaced
    assert weak.decision.current_version == good.version
    assert weak.model_in_use.version == good.version
    current = json.loads((tmp_path / registry.CURRENT_FILE).read_text())
    assert current["version"] == good.version
    assert "worse" in current["decision"]["reason"]
    assert (
        tmp_path / weak.decision.candidate_version / registry.MODEL_FILE
    ).is_file()  # kept for audit


def test_a_better_candidate_replaces_the_current_model(tmp_path, training_set, training_result):
    weak = train_and_register(
        training_set,
        tmp_path,
        features=[f for f in FEATURES if f.name in ("sex", "imd_decile")],
        label=LABEL,
    )
    better = register(training_result.model, tmp_path, training_set.validation, LABEL)
    assert better.replaced and better.current_version == weak.model_in_use.version
    assert registry.current_version(tmp_path) == training_result.model.version


def test_load_without_a_current_model_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="No current model"):
        load(tmp_path)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
            st.one_of(st.none(), st.integers(min_value=-(2**40), max_value=2**40)),
            st.one_of(st.none(), st.sampled_from(["female", "male", "unseen", ""])),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_matrix_is_the_columns_stacked_as_float64_and_narrowed(rows) -> None:
    """The same bytes as each column to float64 NumPy, stacked and narrowed to float32 (the
    way it was built before polars built it in one pass); missing and unseen are NaN."""
    encoding = registry.FeatureEncoding(
        names=("amount", "count", "sex"),
        kinds=("numeric", "numeric", "categorical"),
        categories={"sex": ("female", "male")},
    )
    frame = pl.DataFrame(
        rows, schema={"amount": pl.Float64, "count": pl.Int64, "sex": pl.Utf8}, orient="row"
    )
    codes = {"female": 0.0, "male": 1.0}
    expected = np.column_stack(
        [
            frame.get_column("amount").cast(pl.Float64).to_numpy(),
            frame.get_column("count").cast(pl.Float64).to_numpy(),
            frame.get_column("sex")
            .replace_strict(codes, default=None, return_dtype=pl.Float64)
            .to_numpy(),
        ]
    ).astype(np.float32)
    matrix = encoding.matrix(frame)
    assert matrix.dtype == np.float32 and matrix.flags["C_CONTIGUOUS"]
    assert matrix.shape == expected.shape and matrix.tobytes() == expected.tobytes()
