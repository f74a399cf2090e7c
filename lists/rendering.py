"""Render the lists for people: the printable HTML page and the formatted workbook.

The HTML is one self-contained file (inline style and script, no external resource, no
CDN), so it opens the same on a practice PC without internet access. Templates are in
``lists/templates/``. Both renderings are deterministic: nothing in them records
when or where they were made, and the workbook's document dates are the score date.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from functools import cache
from importlib import resources
from types import SimpleNamespace
from typing import Any

import jinja2
import xlsxwriter

from lists.documents import CSV_COLUMNS, FederationSummary, PracticeList
from warehouse.csv_safety import csv_text

TIER_COLOURS = {  # background, text: readable in print and for colour-blind readers (labels too)
    "very high": ("#8b0000", "#ffffff"),
    "high": ("#d9480f", "#ffffff"),
    "rising": ("#ffd43b", "#212529"),
    "low": ("#e9ecef", "#212529"),
}
SEX_LABELS = {"male": "M", "female": "F", "indeterminate": "I", "not known": "X"}
# The workbook is for reading: plain-English headers. risk_list.csv keeps the machine names.
WORKBOOK_HEADERS = {
    "nhs_number": "NHS number",
    "rank": "Rank",
    "risk_score": "Risk",
    "tier": "Tier",
    "new_to_list": "New to the list",
    "tier_last_month": "Tier last month",
    "change": "Since last month",
    "age": "Age",
    "sex": "Sex",
    "reason_1": "Reason 1",
    "reason_2": "Reason 2",
    "reason_3": "Reason 3",
    "long_term_conditions": "Long-term conditions",
    "ltc_count": "Number of long-term conditions",
    "last_emergency_admission": "Last emergency admission",
    "emergency_admissions_12m": "Emergency admissions, last 12 months",
    "ae_attendances_12m": "A&E attendances, last 12 months",
    "care_home": "Care home",
}
YES_NO = {"Y": "yes", "N": "no"}


@cache
def environment() -> jinja2.Environment:
    folder = resources.files("lists").joinpath("templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = thousands
    return env


def format_nhs_number(nhs_number: str) -> str:
    """NHS style: 3 3 4 digits."""
    return (
        f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}"
        if len(nhs_number) == 10
        else nhs_number
    )


def thousands(value: int | float) -> str:
    """1234 -> '1,234': counts a reader takes in at a glance."""
    return f"{value:,}"


def change_label(row: dict[str, Any], first_list: bool) -> str:
    """What changed for a listed person since last month, in words.

    On a practice's first list everyone is new by definition, which says nothing: blank.
    Listed both months in the same tier reads "still listed" rather than a blank that
    could mean "not known".
    """
    if first_list:
        return ""
    if row["change"] == "new":
        return f"new (was {row['tier_last_month']})" if row["tier_last_month"] else "new"
    return str(row["change"]) or "still listed"


def since_last_month(item: PracticeList) -> str:
    """The month's changes in one line, e.g. '3 new, 1 moved up a tier, ...'."""
    if item.first_list:
        return "first list: no earlier month to compare"
    return (
        f"{item.new_to_list:,} new, {item.moved_up:,} moved up a tier, "
        f"{item.moved_down:,} moved down a tier, {item.still_listed:,} still listed in the "
        f"same tier; {item.left_list:,} on last month's list are no longer on it"
    )


def month_label(month: str) -> str:
    return datetime.date.fromisoformat(f"{month}-01").strftime("%B %Y")


def tier_class(tier: str) -> str:
    return "tier-" + tier.replace(" ", "-")


def render_practice_html(item: PracticeList) -> str:
    # Namespaces, not dicts: Jinja looks `row.tier` up as an attribute first, and on a dict
    # each of the page's thousands of lookups raised and caught an AttributeError
    # (benchmarks/practice_files.py: 111 pages in 1.13 s against 1.63 s, the same pages).
    rows = [
        SimpleNamespace(
            **{
                **row,
                "nhs_display": format_nhs_number(row["nhs_number"]),
                "risk_percent": f"{row['risk_score'] * 100:.1f}%",
                "tier_class": tier_class(row["tier"]),
                "reasons": [row[f"reason_{i}"] for i in (1, 2, 3) if row[f"reason_{i}"]],
                "change_label": change_label(row, item.first_list),
                "last_admission": row["last_emergency_admission"].isoformat()
                if row["last_emergency_admission"]
                else "",
                "sex_short": SEX_LABELS.get(row["sex"], row["sex"]),
            }
        )
        for row in item.rows
    ]
    return (
        environment()
        .get_template("risk_list.html.j2")
        .render(
            item=item,
            practice=item.practice,
            month_label=month_label(item.month),
            rows=rows,
            tiers=[
                {
                    "name": t,
                    "class": tier_class(t),
                    "listed": thousands(item.listed_per_tier.get(t, 0)),
                    "population": thousands(item.population_per_tier.get(t, 0)),
                }
                for t in item.tier_names
            ],
            colours=_colours(item.tier_names),
        )
    )


def render_federation_html(summary: FederationSummary) -> str:
    return (
        environment()
        .get_template("federation_summary.html.j2")
        .render(
            summary=summary,
            month_label=month_label(summary.month),
            colours=_colours(summary.tier_names),
            tier_classes={t: tier_class(t) for t in summary.tier_names},
        )
    )


def _colours(tier_names: Sequence[str]) -> list[dict[str, str]]:
    return [
        {
            "class": tier_class(t),
            "background": TIER_COLOURS.get(t, ("#ffffff", "#212529"))[0],
            "text": TIER_COLOURS.get(t, ("#ffffff", "#212529"))[1],
        }
        for t in tier_names
    ]


def render_practice_workbook(item: PracticeList, columns: Sequence[str]) -> bytes:
    """risk_list.xlsx: frozen header, autofilter, tier cells coloured, an 'About' sheet.

    Built in memory; the document's created date is the score date, so the bytes depend
    only on the list (xlsxwriter already fixes the zip entries' timestamps).
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    )
    workbook.set_properties(
        {
            "title": f"Emergency admission risk list, {item.practice.name} ({item.practice.code}), {item.month}",
            "subject": "Risk stratification: identifiable, for the registered practice only",
            "author": "riskstrat",
            "company": item.practice.federation_name,
            "comments": f"{item.model_label} (id {item.model_version}); list reference {item.reference}",
            "created": datetime.datetime.combine(item.index_date, datetime.time()),
        }
    )
    header = workbook.add_format(
        {"bold": True, "bg_color": "#dee2e6", "border": 1, "text_wrap": True, "valign": "top"}
    )
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    top = workbook.add_format({"valign": "top"})
    risk = workbook.add_format({"num_format": "0.0%", "valign": "top"})
    date = workbook.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    tiers = {
        name: workbook.add_format(
            {"bg_color": background, "font_color": text, "bold": True, "valign": "top"}
        )
        for name, (background, text) in TIER_COLOURS.items()
    }
    sheet = workbook.add_worksheet("Risk list")
    widths = {
        "nhs_number": 14,
        "rank": 6,
        "risk_score": 9,
        "tier": 10,
        "new_to_list": 8,
        "tier_last_month": 11,
        "change": 19,
        "age": 5,
        "sex": 8,
        "reason_1": 38,
        "reason_2": 38,
        "reason_3": 38,
        "long_term_conditions": 40,
        "ltc_count": 6,
        "last_emergency_admission": 13,
        "emergency_admissions_12m": 11,
        "ae_attendances_12m": 11,
        "care_home": 7,
    }
    for index, column in enumerate(columns):
        sheet.set_column(index, index, widths.get(column, 12))
        sheet.write_string(0, index, WORKBOOK_HEADERS.get(column, column), header)
    for line, row in enumerate(item.rows, start=1):
        for index, column in enumerate(columns):
            value = row[column]
            if column == "change":
                value = change_label(row, item.first_list)
            elif column in ("new_to_list", "care_home"):
                value = YES_NO.get(str(value), value)
            if value is None or value == "":
                sheet.write_blank(line, index, None, top)
            elif column == "nhs_number":
                # Text, spaced 3 3 4 as NHS style reads: exact, never 9.99E+09.
                sheet.write_string(line, index, format_nhs_number(str(value)), top)
            elif column == "risk_score":
                sheet.write_number(line, index, round(float(value), 4), risk)
            elif column == "tier":
                sheet.write_string(line, index, str(value), tiers.get(str(value), top))
            elif isinstance(value, datetime.date):
                sheet.write_datetime(
                    line, index, datetime.datetime.combine(value, datetime.time()), date
                )
            elif isinstance(value, int | float):
                sheet.write_number(line, index, value, top)
            else:
                sheet.write_string(
                    line, index, str(value), wrap if column.startswith(("reason", "long")) else top
                )
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(item.rows), 1), len(columns) - 1)
    sheet.set_landscape()
    sheet.repeat_rows(0)
    sheet.fit_to_pages(1, 0)

    about = workbook.add_worksheet("About this list")
    about.set_column(0, 0, 28)
    about.set_column(1, 1, 90)
    for line, (label, text) in enumerate(_about(item)):
        about.write_string(line, 0, label, header)
        about.write_string(line, 1, text, wrap)
    workbook.close()
    return buffer.getvalue()


def _about(item: PracticeList) -> list[tuple[str, Any]]:
    return [
        (
            "Practice",
            f"{item.practice.name} ({item.practice.code}), {item.practice.federation_name}",
        ),
        ("Data month", item.month),
        ("Score date", item.index_date.isoformat()),
        (
            "Model",
            f"{item.model_label}, {item.validation} (model id {item.model_version}, for audit)",
        ),
        ("List reference", item.reference),
        (
            "People on this list",
            f"{len(item.rows):,} ({item.length_rule}; {item.population:,} scored)",
        ),
        ("Since last month", since_last_month(item)),
        ("Tiers", item.tier_rule),
        ("Data quality", item.data_quality),
        (
            "Who is included",
            "People registered at this practice and alive on the score date. People "
            "with a Type 1 opt-out are never included.",
        ),
        ("Confidential", "Identifiable patient data for this practice's direct care only."),
    ]


def practice_documents(item: PracticeList) -> tuple[bytes, bytes, bytes]:
    """risk_list.csv, .xlsx and .html of one list, in memory: the same list, the same bytes."""
    return (
        practice_csv(item).encode("utf-8"),
        render_practice_workbook(item, CSV_COLUMNS),
        render_practice_html(item).encode("utf-8"),
    )


def practice_csv(item: PracticeList) -> str:
    # Every cell through csv_text: names, reasons and codes could start a formula.
    return csv_text(
        CSV_COLUMNS, ([_csv_value(row[column]) for column in CSV_COLUMNS] for row in item.rows)
    )


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)
