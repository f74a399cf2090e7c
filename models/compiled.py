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

Compiling takes seconds (about 2.4 s for 800 trees), so only frames of at least
`COMPILED_FROM_ROWS` people are scored this way (a month at 1,000,000 people, not the
tests' small homes), and the machine code is kept beside the registry, in
`<home>/models/compiled/<version>-<key>.o`: the key is a digest of the model text, the
host CPU and its features, and the library versions, so a home moved to another machine
or an upgraded library compiles afresh. The file is written atomically (a killed run
leaves a `.partial` the next run removes). If compiling fails, the risks come from
LightGBM, the same numbers more slowly, and a warning says why.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from warehouse.files import FILE_MODE, PARTIAL_SUFFIX, make_private_folder

log = logging.getLogger(__name__)

COMPILED_FROM_ROWS = 250_000
"""Fewer people than this are scored by LightGBM itself: compiling costs more than it saves.
LightGBM takes about 8.9 µs a person, the compiled model 3.2 µs, and compiling 2.4 s."""

COMPILED_FOLDER = "compiled"
# finline=False: 2.4 s to compile instead of 13.5 s, for 3.1 s instead of 2.7 s a month;
# fcodemodel="large" for any size of forest (lleaves: "small" can crash on large ones).
COMPILE_OPTIONS = {"finline": False, "fcodemodel": "large"}


def compiled_risk(model_file: Path, matrix: np.ndarray, threads: int) -> np.ndarray | None:
    """The model's risks for `matrix`, from its machine code; None if it cannot be compiled.

    `model_file` is a registry version's model.txt; the machine code is cached in the
    `compiled` folder beside the versions.
    """
    try:
        import lleaves
        import llvmlite.binding as llvm

        key = compile_key(model_file.read_bytes(), llvm)
        cache = model_file.parent.parent / COMPILED_FOLDER / f"{model_file.parent.name}-{key}.o"
        model = lleaves.Model(model_file=str(model_file))
        options = {**COMPILE_OPTIONS, "fblocksize": model.num_trees()}
        if cache.is_file():
            model.compile(cache=str(cache), **options)
        else:
            compile_into(model, cache, options)
    except Exception as error:  # LightGBM gives the same risks
        log.warning("scoring with LightGBM: the model could not be compiled (%s)", error)
        return None
    return np.asarray(model.predict(matrix, n_jobs=threads), dtype=np.float64)


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


def compile_into(model: object, cache: Path, options: dict[str, object]) -> None:
    """Compile `model`, writing its machine code to `cache` through a temporary name."""
    make_private_folder(cache.parent)
    # warehouse.files' temporary name, so that Home.remove_partial_files finds it if killed.
    temporary = cache.parent / (
        f".{cache.name}.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"
    )
    try:
        model.compile(cache=str(temporary), **options)  # type: ignore[attr-defined]
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, cache)
    finally:
        temporary.unlink(missing_ok=True)
