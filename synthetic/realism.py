"""Realism report: the generator's figures beside published-rates.md.

    python -m synthetic.realism --people 50000 --months 36 --seed 42
    python -m synthetic.realism --landing out/landing

Generates into a temporary folder (or reads an existing landing zone), measures every
figure from the landing zone files alone, as any consumer would, and prints a markdown
table. It only reads: it never changes a landing zone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from synthetic import codes
from synthetic.generator import generate

EMERGENCY = [*[str(code) for code in range(21, 29)], "2A", "2B", "2C", "2D"]


@dataclass(frozen=True)
class Figure:
    """One row of the report; `published` is None where the spec gives no single figure."""

    name: str
    published: float | None
    generated: float
    unit: str

    @property
    def within_quarter(self) -> bool | None:
        if self.published is None or self.published == 0:
            return None
        return abs(self.generated - self.published) / self.published <= 0.25


def _scan(landing: Path, pattern: str) -> pl.LazyFrame:
    return pl.scan_csv(
        str(landing / "extracts" / pattern), infer_schema=False, include_file_paths="path"
    ).with_columns(month=pl.col("path").str.extract(r"extracts/(\d{4}-\d{2})/"))


def _month_end(month: pl.Expr) -> pl.Expr:
    return (month + "-01").str.to_date().dt.month_end()


def measure(landing: Path) -> list[Figure]:
    """Every figure of the report, measured from the landing zone's files."""
    registrations = (
        _scan(landing, "*/gp/*/registrations.csv")
        .with_columns(
            month_end=_month_end(pl.col("month")),
            date_of_birth=pl.col("date_of_birth").str.to_date(),
            date_of_death=pl.col("date_of_death").str.to_date(),
            deregistration_date=pl.col("deregistration_date").str.to_date(),
            practice=pl.col("path").str.extract(r"/gp/([A-Z]\d{5})/"),
        )
        .collect()
    )
    months = sorted(registrations["month"].unique().to_list())
    registrations = registrations.with_columns(
        age=((pl.col("month_end") - pl.col("date_of_birth")).dt.total_days() / 365.25)
        .floor()
        .cast(pl.Int64),
        at_end=pl.col("deregistration_date").is_null() & pl.col("date_of_death").is_null(),
    )
    last = registrations.filter((pl.col("month") == months[-1]) & pl.col("at_end"))
    people = last.height
    figures: list[Figure] = []

    def share(condition: pl.Expr, frame: pl.DataFrame = last) -> float:
        return float(frame.select(condition.cast(pl.Float64).mean()).item())

    figures += [
        Figure("aged 0-15", 0.19, share(pl.col("age") <= 15), "share"),
        Figure("aged 16-64", 0.63, share(pl.col("age").is_between(16, 64)), "share"),
        Figure("aged 65+", 0.18, share(pl.col("age") >= 65), "share"),
        Figure("aged 85+", 0.025, share(pl.col("age") >= 85), "share"),
        Figure("living in a care home", 0.007, share(pl.col("care_home") == "Y"), "share"),
        Figure(
            "care home, people aged 65+",
            0.04,
            share(pl.col("care_home") == "Y", last.filter(pl.col("age") >= 65)),
            "share",
        ),
    ]
    person_months = registrations.height
    deaths = registrations.filter(pl.col("date_of_death").is_not_null()).height
    figures.append(Figure("deaths per year", 0.01, deaths / person_months * 12, "share"))
    figures.append(Figure("Type 1 opt-out", 0.035, share(pl.col("type1_opt_out") == "Y"), "share"))
    list_sizes = last.group_by("practice").len()["len"]
    figures.append(
        Figure(
            "practice list size (median)", 9000, float(np.median(list_sizes.to_numpy())), "people"
        )
    )
    practices = pl.read_csv(landing / "reference" / "practices.csv", infer_schema=False)
    federations = (
        last.join(
            practices.select(practice="practice_code", federation="federation_code"), on="practice"
        )
        .group_by("federation")
        .len()["len"]
    )
    per_federation = practices.group_by("federation_code").len()["len"]
    figures.append(
        Figure(
            "practices per federation (median)",
            None,
            float(np.median(per_federation.to_numpy())),
            "practices",
        )
    )
    figures.append(
        Figure(
            "people per federation (median)",
            None,
            float(np.median(federations.to_numpy())),
            "people",
        )
    )

    # Recorded prevalence, among people whose GP data is shared (opt-outs have none).
    sharing = last.filter(pl.col("type1_opt_out") == "N")
    conditions = (
        _scan(landing, f"{months[-1]}/gp/*/conditions.csv")
        .select("nhs_number", "snomed_code")
        .unique()
        .collect()
    )
    targets = {
        "hypertension": (("hypertension",), 0.14, 0),
        "diabetes": (("type 1 diabetes", "type 2 diabetes"), 0.075, 17),
        "asthma": (("asthma",), 0.065, 6),
        "depression": (("depression",), 0.13, 18),
        "chronic kidney disease": (("chronic kidney disease",), 0.04, 18),
        "cancer": (("cancer",), 0.035, 0),
        "ischaemic heart disease": (("ischaemic heart disease",), 0.03, 0),
        "atrial fibrillation": (("atrial fibrillation",), 0.021, 0),
        "COPD": (("COPD",), 0.019, 0),
        "stroke": (("stroke",), 0.018, 0),
        "heart failure": (("heart failure",), 0.010, 0),
        "serious mental illness": (("schizophrenia", "bipolar disorder"), 0.0095, 0),
        "epilepsy": (("epilepsy",), 0.008, 18),
        "rheumatoid arthritis": (("rheumatoid arthritis",), 0.008, 16),
        "dementia": (("dementia",), 0.007, 0),
        "learning disability": (("learning disability",), 0.0055, 0),
    }
    for name, (members, published, minimum_age) in targets.items():
        snomed = [codes.CONDITIONS[codes.CONDITION_INDEX[member]].snomed_code for member in members]
        having = conditions.filter(pl.col("snomed_code").is_in(snomed))["nhs_number"].unique()
        denominator = sharing.filter(pl.col("age") >= minimum_age)
        value = share(pl.col("nhs_number").is_in(having.implode()), denominator)
        figures.append(Figure(f"{name} prevalence", published, value, "share"))
    in_scope = [condition.snomed_code for condition in codes.CONDITIONS]
    counts = conditions.filter(pl.col("snomed_code").is_in(in_scope)).group_by("nhs_number").len()
    older = sharing.filter(pl.col("age") >= 75).join(counts, on="nhs_number", how="left")
    figures.append(
        Figure(
            "people 75+ with 2+ conditions",
            None,
            share(pl.col("len").fill_null(0) >= 2, older),
            "share",
        )
    )

    # Hospital activity per 1,000 person-years; ages from the registration feed.
    birth = registrations.group_by("nhs_number").agg(pl.col("date_of_birth").first())
    admissions = (
        _scan(landing, "*/sus/admissions.csv")
        .collect()
        .join(birth, on="nhs_number", how="left")
        .with_columns(admission_date=pl.col("admission_date").str.to_date())
        .with_columns(
            age=(
                (pl.col("admission_date") - pl.col("date_of_birth")).dt.total_days() / 365.25
            ).floor()
        )
    )
    emergency = admissions.filter(pl.col("admission_method").is_in(EMERGENCY))
    for (low, high), published in zip(
        codes.EMERGENCY_AGE_BANDS, codes.EMERGENCY_RATE_PER_1000, strict=True
    ):
        label = f"{low}+" if high >= 200 else f"{low}-{high}"
        events = emergency.filter(pl.col("age").is_between(low, high)).height
        exposure = registrations.filter(pl.col("age").is_between(low, high)).height / 12.0
        figures.append(
            Figure(
                f"emergency admissions {label} per 1,000",
                published,
                1000 * events / max(exposure, 1),
                "per 1,000/yr",
            )
        )
    figures.append(
        Figure(
            "emergency admissions all ages per 1,000",
            110.0,
            1000 * emergency.height / (person_months / 12),
            "per 1,000/yr",
        )
    )
    if len(months) >= 13:
        first_end = registrations.filter((pl.col("month") == months[0]) & pl.col("at_end"))
        index_day = first_end["month_end"][0]
        window = emergency.filter(
            (pl.col("admission_date") > index_day)
            & (pl.col("admission_date") <= pl.lit(index_day).dt.offset_by("12mo").dt.month_end())
        )
        admitted = window["nhs_number"].unique()
        figures.append(
            Figure(
                "people with 1+ emergency admission in a year",
                0.07,
                share(pl.col("nhs_number").is_in(admitted.implode()), first_end),
                "share",
            )
        )
    ae = _scan(landing, "*/sus/ae_attendances.csv").select(pl.len()).collect().item()
    figures.append(
        Figure("A&E attendances per 1,000", 420.0, 1000 * ae / (person_months / 12), "per 1,000/yr")
    )
    outpatients = _scan(landing, "*/sus/outpatients.csv").select("attendance_status").collect()
    figures.append(
        Figure(
            "outpatient appointments per 1,000",
            1700.0,
            1000 * outpatients.height / (person_months / 12),
            "per 1,000/yr",
        )
    )
    figures.append(
        Figure(
            "outpatient did-not-attend",
            0.07,
            share(pl.col("attendance_status") == "3", outpatients),
            "share",
        )
    )
    consultations = (
        _scan(landing, "*/gp/*/consultations.csv").select("nhs_number", "month").collect()
    )
    sharing_months = registrations.filter(pl.col("type1_opt_out") == "N")
    figures.append(
        Figure(
            "GP consultations per person per year",
            5.0,
            consultations.height / (sharing_months.height / 12),
            "per person/yr",
        )
    )
    by_person_month = consultations.group_by("nhs_number", "month").len()
    with_age = sharing_months.join(by_person_month, on=["nhs_number", "month"], how="left")
    for label, condition in (
        ("0-15", pl.col("age") <= 15),
        ("16-64", pl.col("age").is_between(16, 64)),
        ("65+", pl.col("age") >= 65),
    ):
        band = with_age.filter(condition)
        figures.append(
            Figure(
                f"GP consultations per person per year, {label}",
                None,
                float(band["len"].fill_null(0).sum()) * 12 / max(band.height, 1),
                "per person/yr",
            )
        )
    figures.append(Figure("people registered at the last month end", None, float(people), "people"))
    return figures


def _followed_up(landing: Path, truth: Path) -> pl.DataFrame:
    """truth.csv's person-index dates with a full year of follow-up in the landing zone,
    each with `admitted` (1 when an emergency admission fell in its 12 months)."""
    frame = pl.read_csv(truth, schema_overrides={"nhs_number": pl.String, "index_date": pl.Date})
    admissions = (
        _scan(landing, "*/sus/admissions.csv")
        .filter(pl.col("admission_method").is_in(EMERGENCY))
        .select("nhs_number", admission_date=pl.col("admission_date").str.to_date())
        .collect()
    )
    months = sorted(path.name for path in (landing / "extracts").iterdir())
    last_day = pl.select(_month_end(pl.lit(months[-1]))).item()
    window_end = pl.col("index_date").dt.offset_by("12mo").dt.month_end()
    frame = frame.filter(window_end <= last_day)
    admitted = (
        frame.join(admissions, on="nhs_number")
        .filter(
            (pl.col("admission_date") > pl.col("index_date"))
            & (pl.col("admission_date") <= window_end)
        )
        .select("nhs_number", "index_date")
        .unique()
        .with_columns(admitted=pl.lit(1, dtype=pl.Int8))
    )
    return frame.join(admitted, on=["nhs_number", "index_date"], how="left").with_columns(
        pl.col("admitted").fill_null(0)
    )


def truth_calibration(landing: Path, truth: Path) -> tuple[float, float, int]:
    """Mean true_risk and realised 12-month emergency-admission rate, over index dates
    with a full year of follow-up in the landing zone; and the number of person-dates."""
    frame = _followed_up(landing, truth)
    if frame.height == 0:
        return float("nan"), float("nan"), 0
    return float(frame["true_risk"].mean()), float(frame["admitted"].mean()), frame.height  # type: ignore[arg-type]


def truth_deciles(landing: Path, truth: Path) -> pl.DataFrame:
    """By decile of true_risk (1 lowest): person-dates, mean true_risk, realised rate."""
    frame = _followed_up(landing, truth).sort("true_risk", "nhs_number", "index_date")
    decile = (pl.int_range(pl.len()) * 10 // pl.len() + 1).alias("decile")
    return (
        frame.with_columns(decile)
        .group_by("decile")
        .agg(
            person_dates=pl.len(),
            predicted=pl.col("true_risk").mean(),
            realised=pl.col("admitted").mean(),
        )
        .sort("decile")
    )


def render_deciles(deciles: pl.DataFrame) -> str:
    """Markdown table of `truth_deciles`."""
    lines = [
        "| decile of true_risk | person-dates | mean true_risk | realised rate |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in deciles.iter_rows(named=True):
        lines.append(
            f"| {row['decile']} | {row['person_dates']:,} | {row['predicted']:.4f} "
            f"| {row['realised']:.4f} |"
        )
    return "\n".join(lines)


def render(figures: list[Figure]) -> str:
    """Markdown table of the figures."""
    lines = [
        "| figure | published | generator | within 25% |",
        "| --- | --- | --- | --- |",
    ]
    for figure in figures:
        if figure.unit == "share":
            published = "" if figure.published is None else f"{100 * figure.published:.2f}%"
            generated = f"{100 * figure.generated:.2f}%"
        else:
            published = "" if figure.published is None else f"{figure.published:,.1f}"
            generated = f"{figure.generated:,.1f}"
        verdict = {True: "yes", False: "**no**", None: ""}[figure.within_quarter]
        lines.append(f"| {figure.name} | {published} | {generated} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", default="2023-01")
    parser.add_argument("--landing", type=Path, help="measure an existing landing zone instead")
    arguments = parser.parse_args(argv)
    if arguments.landing is not None:
        print(render(measure(arguments.landing)))
        return 0
    with tempfile.TemporaryDirectory(prefix="riskstrat-realism-") as folder:
        summary = generate(
            Path(folder),
            people=arguments.people,
            months=arguments.months,
            seed=arguments.seed,
            start=arguments.start,
        )
        print(
            f"Generated {summary.people:,} people x {summary.months} months "
            f"({summary.first_month}..{summary.last_month}), seed {arguments.seed}.\n"
        )
        print(render(measure(summary.landing)))
        predicted, observed, count = truth_calibration(summary.landing, summary.truth)
        print(
            f"\ntruth.csv: mean true_risk {predicted:.4f}, realised 12-month emergency-admission "
            f"rate {observed:.4f} ({count:,} person-index dates with a full year of follow-up)."
        )
        print("\n" + render_deciles(truth_deciles(summary.landing, summary.truth)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
