"""Read the project's SQL files: ``<package>/sql/<relative path>``, one loader for all.

``warehouse/sql/<layer>/<table>.sql`` defines the warehouse's tables; ``lists/sql/`` holds
the lists' tables and queries. A file may include another file of its own package with
``{include:<relative path>}``: a fixed text, never a value (values are parameters).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

INCLUDE = re.compile(r"\{include:([A-Za-z0-9_./-]+)\}")


@cache
def read_sql(relative_path: str, package: str = "warehouse") -> str:
    text = resources.files(package).joinpath("sql", relative_path).read_text(encoding="utf-8")
    return INCLUDE.sub(lambda include: read_sql(include.group(1), package), text)
