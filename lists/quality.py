"""Each practice's data-quality status for a month, from the delivery tables in raw.

A status is one short phrase a federation manager can act on: "complete", "extract
missing" (the practice's GP folder was not delivered), "file rejected: gp/.../x.csv", or
the month's own status when the whole delivery is not loaded.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from lists.tables import fetch_one, table_exists

COMPLETE = "complete"


def practice_data_quality(
    connection: duckdb.DuckDBPyConnection, month: str, practice_codes: Iterable[str]
) -> dict[str, str]:
    codes = sorted(set(practice_codes))
    if not table_exists(connection, "raw.delivery_months"):
        return dict.fromkeys(codes, "unknown (no delivery record)")
    row = fetch_one(
        connection,
        "SELECT status, reason, missing_practices FROM raw.delivery_months WHERE delivery_month = $m",
        {"m": month},
    )
    if row is None:
        return dict.fromkeys(codes, "not delivered")
    status, reason, missing = row
    if status != "loaded":
        return dict.fromkeys(codes, f"month {status}" + (f": {reason}" if reason else ""))
    rejected: dict[str, list[str]] = {}
    if table_exists(connection, "raw.delivery_files"):
        for (path,) in connection.execute(
            "SELECT path FROM raw.delivery_files WHERE delivery_month = $m AND status = 'rejected' "
            "ORDER BY path",
            {"m": month},
        ).fetchall():
            parts = str(path).split("/")
            if len(parts) >= 3 and parts[0] == "gp":
                rejected.setdefault(parts[1], []).append(parts[-1])
            else:  # an area-wide file (hospital, social care) touches every practice
                for code in codes:
                    rejected.setdefault(code, []).append(str(path))
    statuses = {}
    for code in codes:
        if code in (missing or []):
            statuses[code] = "extract missing"
        elif code in rejected:
            statuses[code] = "file rejected: " + ", ".join(rejected[code])
        else:
            statuses[code] = COMPLETE
    return statuses
