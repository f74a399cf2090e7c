"""The compiled model gives LightGBM's risks bit for bit, caches its machine code, and falls back."""

import hashlib
import logging
import stat

import lightgbm as lgb
import numpy as np
import pytest

from models import compiled, registry
from models.registry import MODEL_FILE, load, save


def awkward_model(tmp_path):
    """A model with every kind of split the compiler must get right, and rows that test them:
    numeric splits with NaN, zero and negative values, categorical splits with NaN, unseen and
    negative categories, over 300 trees so that the order of the sum matters."""
    rng = np.random.default_rng(7)
    rows = 4000
    numeric = rng.normal(size=(rows, 3))
    numeric[rng.random((rows, 3)) < 0.15] = np.nan
    numeric[rng.random((rows, 3)) < 0.10] = 0.0
    category = rng.integers(0, 12, rows).astype(np.float64)
    category[rng.random(rows) < 0.1] = np.nan
    features = np.column_stack([numeric, category])
    logit = np.nan_to_num(numeric[:, 0]) * 1.5 - np.isnan(numeric[:, 1]) + (category % 3 == 0)
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train(
        {
            "objective": "binary",
            "num_leaves": 7,
            "learning_rate": 0.05,
            "min_data_in_leaf": 5,
            "verbosity": -1,
            "seed": 1,
            "deterministic": True,
        },
        lgb.Dataset(features, label, categorical_feature=[3]),
        num_boost_round=300,
    )
    path = tmp_path / "m1" / MODEL_FILE
    path.parent.mkdir()
    path.write_text(booster.model_to_string())
    scored = rng.normal(size=(5000, 4)) * 3
    scored[rng.random((5000, 4)) < 0.15] = np.nan
    scored[:, 3] = np.where(np.isnan(scored[:, 3]), np.nan, np.round(scored[:, 3] * 3))  # -30..30
    return booster, path, scored.astype(np.float32)


@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_risks_equal_lightgbms_bit_for_bit(tmp_path, threads):
    booster, path, rows = awkward_model(tmp_path)
    risk = compiled.compiled_risk(
        path, rows, threads, lambda checked: booster.predict(checked, num_threads=threads)
    )
    assert risk is not None  # None: the first CHECKED_ROWS risks differed from LightGBM's
    expected = booster.predict(rows, num_threads=threads)
    assert risk.dtype == np.float64
    assert np.array_equal(risk, expected), f"{np.sum(risk != expected)} risks differ"


def test_machine_code_is_cached_per_model_and_reused(tmp_path, monkeypatch):
    booster, path, rows = awkward_model(tmp_path)
    first = compiled.compiled_risk(path, rows, 2, booster.predict)
    [cache] = (tmp_path / compiled.COMPILED_FOLDER).iterdir()
    assert cache.name.startswith("m1-") and cache.suffix == ".o"
    assert cache.stem.rsplit("-", 1)[1] == hashlib.sha256(cache.read_bytes()).hexdigest()[:16]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600

    compiles = []
    original = compiled.compile_into
    monkeypatch.setattr(compiled, "compile_into", lambda *a: compiles.append(a) or original(*a))
    assert np.array_equal(compiled.compiled_risk(path, rows, 2, booster.predict), first)
    assert compiles == []  # loaded from the cache

    # Another model (the first 100 trees of this one) gets its own machine code.
    other = tmp_path / "m2" / MODEL_FILE
    other.parent.mkdir()
    other.write_text(booster.model_to_string(num_iteration=100))
    fewer = booster.predict(rows, num_iteration=100)
    assert np.array_equal(
        compiled.compiled_risk(other, rows, 2, lambda checked: fewer[: len(checked)]), fewer
    )
    assert len(compiles) == 1
    names = sorted(p.name for p in (tmp_path / compiled.COMPILED_FOLDER).iterdir())
    assert len(names) == 2 and names[1].startswith("m2-")
    assert not [n for n in names if n.endswith(".partial")]


def test_a_model_that_cannot_be_compiled_is_scored_by_lightgbm(tmp_path, monkeypatch, caplog):
    _, path, rows = awkward_model(tmp_path)

    def refuse(*args, **kwargs):
        raise RuntimeError("no LLVM here")

    monkeypatch.setattr("lleaves.Model.compile", refuse)
    with caplog.at_level(logging.WARNING, logger="models.compiled"):
        assert compiled.compiled_risk(path, rows, 2, lambda checked: checked) is None
    assert "could not be compiled (no LLVM here)" in caplog.text
    assert not list((tmp_path / compiled.COMPILED_FOLDER).glob("*"))


def test_a_registered_model_scores_large_frames_compiled(
    tmp_path, monkeypatch, training_set, training_result
):
    version = save(training_result.model, tmp_path)
    model = load(tmp_path, version)
    frame = training_set.validation
    expected = model.booster.predict(
        model.encoding.matrix(frame), num_threads=registry.PREDICTION_THREADS
    )

    assert np.array_equal(model.predict(frame), expected)  # small: LightGBM, nothing compiled
    assert not (tmp_path / compiled.COMPILED_FOLDER).exists()

    monkeypatch.setattr(registry, "COMPILED_FROM_ROWS", 1)
    assert np.array_equal(model.predict(frame), expected)
    [cache] = (tmp_path / compiled.COMPILED_FOLDER).iterdir()
    assert cache.name.startswith(f"{version}-")
    # The validation booster is never compiled; a model not yet saved is never compiled.
    assert np.array_equal(
        model.raw_risk(frame, validation=True),
        model.validation_booster.predict(model.encoding.matrix(frame)),
    )
    assert np.array_equal(training_result.model.predict(frame), expected)
    assert len(list((tmp_path / compiled.COMPILED_FOLDER).iterdir())) == 1


@pytest.mark.parametrize("damage", [b"", b"not an object file", None])
def test_a_damaged_cache_file_is_replaced_not_loaded(tmp_path, damage):
    """lleaves loads a cache file unchecked, and an empty or foreign one crashes the process:
    a file whose bytes no longer have the digest in its name is deleted and compiled again."""
    booster, path, rows = awkward_model(tmp_path)
    expected = booster.predict(rows)
    compiled.compiled_risk(path, rows, 2, booster.predict)
    [cache] = (tmp_path / compiled.COMPILED_FOLDER).iterdir()
    if damage is None:  # truncated
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    else:
        cache.write_bytes(damage)
    assert np.array_equal(compiled.compiled_risk(path, rows, 2, booster.predict), expected)
    [again] = (tmp_path / compiled.COMPILED_FOLDER).iterdir()
    assert again.name == cache.name and again.read_bytes() != damage


def test_risks_that_differ_from_lightgbms_are_never_used(tmp_path, monkeypatch, caplog):
    booster, path, rows = awkward_model(tmp_path)
    import lleaves

    original = lleaves.Model.predict
    monkeypatch.setattr(
        lleaves.Model, "predict", lambda self, *a, **k: np.nextafter(original(self, *a, **k), 2)
    )
    with caplog.at_level(logging.WARNING, logger="models.compiled"):
        assert compiled.compiled_risk(path, rows, 2, booster.predict) is None
    assert "risks differ from LightGBM's" in caplog.text


def test_a_model_the_compiler_does_not_support_is_scored_by_lightgbm(tmp_path, caplog):
    rng = np.random.default_rng(3)
    features = rng.normal(size=(2000, 3))
    label = (features[:, 0] + rng.normal(size=2000) > 0).astype(int)
    linear = lgb.train(
        {"objective": "binary", "linear_tree": True, "verbosity": -1, "num_leaves": 4},
        lgb.Dataset(features, label),
        num_boost_round=20,
    )
    path = tmp_path / "m1" / MODEL_FILE
    path.parent.mkdir()
    path.write_text(linear.model_to_string())
    with caplog.at_level(logging.WARNING, logger="models.compiled"):
        assert compiled.compiled_risk(path, features, 2, linear.predict) is None
    assert "does not support this model" in caplog.text
    assert not (tmp_path / compiled.COMPILED_FOLDER).exists()


def test_compiling_removes_the_versions_code_for_another_cpu_or_library(tmp_path):
    booster, path, rows = awkward_model(tmp_path)
    folder = tmp_path / compiled.COMPILED_FOLDER
    folder.mkdir(mode=0o700)
    stale = folder / "m1-0123456789abcdef-0123456789abcdef.o"  # another host or lleaves
    stale.write_bytes(b"elsewhere")
    other_version = folder / "m2-0123456789abcdef-0123456789abcdef.o"
    other_version.write_bytes(b"m2")
    compiled.compiled_risk(path, rows, 2, booster.predict)
    names = sorted(p.name for p in folder.iterdir())
    assert stale.name not in names and other_version.name in names and len(names) == 2
