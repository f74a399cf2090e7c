"""A month's risks from the model compiled to machine code: LightGBM's numbers, to the last bit.

LightGBM's `Booster.predict` walks 800 small trees for each of 964,252 people in 8.6 s on
two threads. `lleaves` compiles the same model text with LLVM into one function a row.
Compiled with every tree in one block (`fblocksize` = the number of trees), it adds the
trees' outputs in LightGBM's order, starting from 0.0, compares each split as LightGBM
does and applies the same sigmoid through the C library's `exp`; LLVM may not reorder or
fuse floating-point arithmetic without fast-math flags, which lleaves does not set. So
each risk equals `Booster.predict`'s bit for bit, which tests/models/test_compiled.py
holds on models with missing values and categorical features, and
`benchmarks/compiled_predictions.py` on a 1,000,000-people warehouse (docs/performance.md).

Compiling takes seconds (about 2.6 s for 800 trees), so only frames of at least
`COMPILED_FROM_ROWS` people are scored this way (a month at 1,000,000 people, not the
tests' small homes), and the machine code is kept beside the registry, in
`<home>/models/compiled/<version>-<key>-<digest>.o`: the key is a digest of the model
text, the host CPU and its features, and the library versions, so a home moved to another
machine or an upgraded library compiles afresh; the digest is the file's own, checked
before it is loaded (lleaves would load a damaged file unchecked and crash). The file is
written through a temporary name, flushed, then renamed (a killed run leaves a `.partial`
the next run removes). Every use compares the first `CHECKED_ROWS` risks with LightGBM's;
if they differ, or compiling fails, or the model is not one lleaves compiles exactly
(only binary models of plain trees are), the risks come from LightGBM, the same numbers
more slowly, and a warning says why.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Callable
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from warehouse.files import FILE_MODE, PARTIAL_SUFFIX, make_private_folder

log = logging.getLogger(__name__)

COMPILED_FROM_ROWS = 250_000
"""Fewer people than this are scored by LightGBM itself: compiling costs more than it saves.
At 800 trees LightGBM takes about 9.3 µs a person, the compiled model 2.7 µs, and compiling
2.6 s once a model (`benchmarks/compiled_predictions.py --settings`, docs/performance.md)."""

COMPILED_FOLDER = "compiled"
# finline=False: 2.6 s to compile instead of 13.8 s, and predicting as fast (2.64 s against
# 2.69 s for 964,252 people); fcodemodel="large" for any size of forest (lleaves: "small"
# can crash on large ones).
COMPILE_OPTIONS = {"finline": False, "fcodemodel": "large"}


def compiled_risk(
    model_file: Path,
    matrix: np.ndarray,
    threads: int,
    lightgbm: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray | None:
    """The model's risks for `matrix`, from its machine code; None if it cannot be used.

    `model_file` is a registry version's model.txt; the machine code is cached in the
    `compiled` folder beside the versions. `lightgbm` is LightGBM's own prediction: the
    first `CHECKED_ROWS` risks must equal it bit for bit, or LightGBM scores them all (a
    model the compiler does not support, such as linear trees, can never go unnoticed).
    """
    try:
        import lleaves
        import llvmlite.binding as llvm

        text = model_file.read_bytes()
        if not supported(text):
            log.warning("scoring with LightGBM: the compiler does not support this model")
            return None
        model = lleaves.Model(model_file=str(model_file))
        options = {**COMPILE_OPTIONS, "fblocksize": model.num_trees()}
        prefix = f"{model_file.parent.name}-{compile_key(text, llvm)}-"
        folder = model_file.parent.parent / COMPILED_FOLDER
        cached = intact_cache(folder, prefix)
        if cached is not None:
            model.compile(cache=str(cached), **options)
        else:
            compile_into(model, folder, prefix, options)
        risk = np.asarray(model.predict(matrix, n_jobs=threads), dtype=np.float64)
        checked = matrix[:CHECKED_ROWS]
        if not np.array_equal(risk[: len(checked)], lightgbm(checked)):
            log.warning("scoring with LightGBM: the compiled model's risks differ from LightGBM's")
            return None
    except Exception as error:  # LightGBM gives the same risks
        log.warning("scoring with LightGBM: the model could not be compiled (%s)", error)
        return None
    return risk


CHECKED_ROWS = 10_000
"""Rows whose compiled risks are compared with LightGBM's on every use (0.1 s at 800 trees)."""


def supported(model_text: bytes) -> bool:
    """A binary model of plain trees: what lleaves compiles as LightGBM predicts (it ignores
    linear trees' coefficients)."""
    return b"\nobjective=binary" in model_text and b"is_linear=1" not in model_text


def intact_cache(folder: Path, prefix: str) -> Path | None:
    """The cached machine code `<prefix><sha256 of its bytes, 16 hex>.o`, if its bytes still
    have that digest; any other file of the prefix (damaged, a power cut's empty file) is
    deleted, as lleaves would load it unchecked and crash the process."""
    found = None
    for path in sorted(folder.glob(f"{prefix}*.o")) if folder.is_dir() else []:
        if found is None and path.name == f"{prefix}{_digest(path.read_bytes())}.o":
            found = path
        else:
            path.unlink(missing_ok=True)
    return found


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def compile_key(model_text: bytes, llvm: object) -> str:
    """What the machine code depends on: the model, the host CPU, the compilers and options."""
    try:
        features = llvm.get_host_cpu_features().flatten()  # type: ignore[attr-defined]
    except RuntimeError:
        features = ""
    digest = hashlib.sha256(model_text)
    for part in (
        llvm.get_host_cpu_name(),  # type: ignore[attr-defined]
        features,
        package_version("lleaves"),
        package_version("llvmlite"),
        repr(sorted(COMPILE_OPTIONS.items())),
    ):
        digest.update(b"\0" + str(part).encode())
    return digest.hexdigest()[:16]


def compile_into(model: object, folder: Path, prefix: str, options: dict[str, object]) -> Path:
    """Compile `model` and keep its machine code as `<prefix><digest>.o` in `folder`,
    through a temporary name, flushed to disk before the rename; returns the file."""
    make_private_folder(folder)
    # warehouse.files' temporary name, so that Home.remove_partial_files finds it if killed.
    temporary = folder / f".{prefix}.o.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"
    try:
        model.compile(cache=str(temporary), **options)  # type: ignore[attr-defined]
        with open(temporary, "rb+") as handle:
            cache = folder / f"{prefix}{_digest(handle.read())}.o"
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, cache)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        temporary.unlink(missing_ok=True)
    # The version's machine code for another CPU or library version is not needed here.
    version = prefix.split("-", 1)[0]
    for older in folder.glob(f"{version}-*.o"):
        if not older.name.startswith(prefix):
            older.unlink(missing_ok=True)
    return cache
