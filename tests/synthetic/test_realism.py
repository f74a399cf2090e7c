"""A 20,000-person population looks like England (loose bounds at this size)."""

from __future__ import annotations

import numpy as np

from synthetic import GenerationSummary, nhs_numbers
from synthetic.realism import measure, render


def _figures(summary: GenerationSummary) -> dict[str, float]:
    return {figure.name: figure.generated for figure in measure(summary.landing)}


def test_population_structure(larger: GenerationSummary) -> None:
    figures = _figures(larger)
    assert 0.15 < figures["aged 0-15"] < 0.23
    assert 0.57 < figures["aged 16-64"] < 0.69
    assert 0.14 < figures["aged 65+"] < 0.22
    assert 0.015 < figures["aged 85+"] < 0.04
    assert 0.004 < figures["living in a care home"] < 0.011
    assert 0.006 < figures["deaths per year"] < 0.015
    assert 0.025 < figures["Type 1 opt-out"] < 0.045


def test_prevalence_and_multimorbidity(larger: GenerationSummary) -> None:
    figures = _figures(larger)
    for name, published in (
        ("hypertension", 0.14),
        ("diabetes", 0.075),
        ("asthma", 0.065),
        ("depression", 0.13),
        ("chronic kidney disease", 0.04),
        ("COPD", 0.019),
        ("atrial fibrillation", 0.021),
    ):
        assert abs(figures[f"{name} prevalence"] - published) / published < 0.3, name
    assert figures["people 75+ with 2+ conditions"] > 0.5


def test_hospital_activity_rates_and_age_gradient(larger: GenerationSummary) -> None:
    figures = _figures(larger)
    assert 80 < figures["emergency admissions all ages per 1,000"] < 140
    middle = figures["emergency admissions 45-64 per 1,000"]
    older = figures["emergency admissions 75-84 per 1,000"]
    oldest = figures["emergency admissions 85+ per 1,000"]
    assert middle < figures["emergency admissions 65-74 per 1,000"] < older < oldest
    assert oldest > 3 * middle
    assert 0.05 < figures["people with 1+ emergency admission in a year"] < 0.1
    assert 320 < figures["A&E attendances per 1,000"] < 520
    assert 1300 < figures["outpatient appointments per 1,000"] < 2100
    assert 0.05 < figures["outpatient did-not-attend"] < 0.09
    assert 4 < figures["GP consultations per person per year"] < 6
    assert (
        figures["GP consultations per person per year, 16-64"]
        < figures["GP consultations per person per year, 65+"]
    )


def test_report_renders_a_markdown_table(larger: GenerationSummary) -> None:
    table = render(measure(larger.landing))
    assert table.splitlines()[0] == "| figure | published | generator | within 25% |"
    assert "| hypertension prevalence | 14.00% |" in table


def test_nhs_numbers_have_valid_check_digits() -> None:
    assert nhs_numbers.is_valid("9990000018")
    assert not nhs_numbers.is_valid("9990000019")
    assert not nhs_numbers.is_valid("999000001")
    numbers = nhs_numbers.allocate(5_000, np.random.default_rng(0))
    assert np.unique(numbers).size == 5_000
    assert all(
        nhs_numbers.is_valid(str(number)) and str(number).startswith("999")
        for number in numbers[:500]
    )
