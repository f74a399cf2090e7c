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
from typing import Any

import jinja2
import xlsxwriter

from lists.documents import FederationSummary, PracticeList

TIER_COLOURS = {  # background, text: readable in print and for colour-blind readers (labels too)
    "very high": ("#8b0000", "#ffffff"),
    "high": ("#d9480f", "#ffffff"),
    "rising": ("#ffd43b", "#212529"),
    "low": ("#e9ecef", "#212529"),
}
SEX_LABELS = {"male": "M", "female": "F", "indeterminate": "I", "not known": "X"}


@cache
def environment() -> jinja2.Environment:
    folder = resources.files("lists").joinpath("templates")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def format_nhs_number(nhs_number: str) -> str:
    """NHS style: 3 3 4 digits."""
    return (
        f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}"
        if len(nhs_number) == 10
        else nhs_number
    )


def month_label(month: str) -> str:
    return datetime.date.fromisoformat(f"{month}-01").strftime("%B %Y")


def tier_class(tier: str) -> str:
    return "tier-" + tier.replace(" ", "-")


def render_practice_html(item: PracticeList) -> str:
    rows = [
        {
            **row,
            "nhs_display": format_nhs_number(row["nhs_number"]),
            "risk_percent": f"{row['risk_score'] * 100:.1f}%",
            "tier_class": tier_class(row["tier"]),
            "reasons": [row[f"reason_{i}"] for i in (1, 2, 3) if row[f"reason_{i}"]],
            "last_admission": row["last_emergency_admission"].isoformat()
            if row["last_emergency_admission"]
            else "",
            "sex_short": SEX_LABELS.get(row["sex"], row["sex"]),
        }
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
                    "listed": item.listed_per_tier.get(t, 0),
                    "population": item.population_per_tier.get(t, 0),
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
            "comments": f"model {item.model_version}; list reference {item.reference}",
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
        "nhs_number": 13,
        "rank": 6,
        "risk_score": 9,
        "tier": 10,
        "new_to_list": 8,
        "tier_last_month": 11,
        "change": 16,
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
        sheet.write_string(0, index, column, header)
    for line, row in enumerate(item.rows, start=1):
        for index, column in enumerate(columns):
            value = row[column]
            if value is None or value == "":
                sheet.write_blank(line, index, None, top)
            elif column == "nhs_number":
                sheet.write_string(
                    line, index, str(value), top
                )  # text: keeps it exact, no 9.99E+09
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
        ("Model version", f"{item.model_version} ({item.validation})"),
        ("List reference", item.reference),
        ("People on this list", f"{len(item.rows)} ({item.length_rule}; {item.population} scored)"),
        ("New since last month", "first list" if item.first_list else str(item.new_to_list)),
        ("Changed tier", str(item.changed_tier)),
        ("Tiers", item.tier_rule),
        ("Data quality", item.data_quality),
        (
            "Who is included",
            "People registered at this practice and alive on the score date. People "
            "with a Type 1 opt-out are never included.",
        ),
        ("Confidential", "Identifiable patient data for this practice's direct care only."),
    ]
