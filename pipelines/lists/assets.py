"""List assets: the month's risk scores, the practices' lists and the federations' summaries.

Thin wiring around models.scoring and the lists package. Partitioned by extract month;
`riskstrat run` materialises them for the latest loaded month once a model exists.
Metadata holds counts, tiers and the score distribution, never an NHS number.
"""

import base64
import io

import dagster as dg

from lists.documents import tier_column
from lists.federation import publish_federation_summaries
from lists.paths import UnsafeCodeError
from lists.practice_lists import ListLength, ListPolicy, publish_practice_lists
from lists.pseudonyms import PseudonymKeyError, pseudonym_key
from lists.scores import explain_listed, score_month
from lists.tiers import Tier, TierPolicy
from models import scoring
from pipelines.metadata import table
from pipelines.partitions import list_months
from pipelines.resources import RunSettings, Warehouse

GROUP = "lists"
MODEL = dg.AssetKey("admission_risk_model")


class RiskScoresConfig(dg.Config):
    """Tier sizes, in percent of the area's scored people, from the highest tier down."""

    very_high_percent: float = 0.5
    high_percent: float = 4.5
    rising_percent: float = 15.0

    def tier_policy(self) -> TierPolicy:
        shares = (self.very_high_percent, self.high_percent, self.rising_percent)
        cumulative = [round(sum(shares[: i + 1]) / 100, 9) for i in range(len(shares))]
        return TierPolicy(
            tiers=tuple(
                Tier(name, share)
                for name, share in zip(("very high", "high", "rising"), cumulative, strict=True)
            )
        )


class PracticeListsConfig(dg.Config):
    """List length per practice: top N when given, otherwise top percent of its scored patients."""

    top_percent: float = 2.0
    top_n: int | None = None
    vanguard_top_percent: float = 5.0
    vanguard_top_n: int | None = None

    def list_policy(self) -> ListPolicy:
        def length(top_n: int | None, top_percent: float) -> ListLength:
            return (
                ListLength(top_n=top_n)
                if top_n is not None
                else ListLength(top_percent=top_percent)
            )

        return ListPolicy(
            standard=length(self.top_n, self.top_percent),
            vanguard=length(self.vanguard_top_n, self.vanguard_top_percent),
        )


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    partitions_def=list_months,
    deps=[MODEL],
    pool="warehouse",
)
def risk_scores(
    context: dg.AssetExecutionContext, warehouse: Warehouse, config: RiskScoresConfig
) -> dg.MaterializeResult:
    """Every eligible person at the month's end scored by the current model: risk, ranks, tier, reasons.

    Replaces the month's rows of scores.risk_scores.
    """
    month = context.partition_key
    try:
        model = scoring.load_current_model(warehouse.paths.models)
    except FileNotFoundError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    explain = scoring.default_explainer()
    try:
        with warehouse.connect() as connection:
            # Reasons for the people the default lists can hold (the SHAP values are most of
            # scoring's cost); practice_risk_lists explains anyone a longer list adds.
            scored = score_month(
                connection,
                month,
                model,
                explain=explain,
                tiers=config.tier_policy(),
                list_policy=PracticeListsConfig().list_policy(),
            )
    except ValueError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(f"{month}: {scored.people:,} people scored with model {scored.model_version}")
    return dg.MaterializeResult(
        metadata={
            "people_scored": scored.people,
            "model_version": scored.model_version,
            "index_date": scored.index_date.isoformat(),
            "expected_people_admitted_next_12m": dg.MetadataValue.float(scored.expected_admissions),
            "people_per_tier": table(
                ({"tier": t, "people": n} for t, n in scored.people_per_tier.items()),
                {"tier": "string", "people": "int"},
            ),
            "people_per_practice": table(
                (
                    {"practice": p, "people_scored": n}
                    for p, n in scored.people_per_practice.items()
                ),
                {"practice": "string", "people_scored": "int"},
            ),
            "risk_quantiles": table(
                ({"quantile": q, "risk": float(r)} for q, r in scored.risk_quantiles.items()),
                {"quantile": "string", "risk": "float"},
            ),
            "risk_distribution": dg.MetadataValue.md(_histogram(scored.risk_histogram)),
            "opted_out_rows_removed": scored.removed_opt_outs,
            "explanations": explain.__module__,
        }
    )


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "csv", "html"},
    partitions_def=list_months,
    deps=[risk_scores],
    pool="warehouse",
)
def practice_risk_lists(
    context: dg.AssetExecutionContext, warehouse: Warehouse, config: PracticeListsConfig
) -> dg.MaterializeResult:
    """outbox/<federation>/<practice>/<month>/: risk_list.csv, .xlsx, .html and manifest.csv."""
    month = context.partition_key
    models = warehouse.paths.models
    try:
        with warehouse.connect() as connection:
            explained = explain_listed(
                connection,
                month,
                config.list_policy(),
                lambda: scoring.load_current_model(models),
                scoring.default_explainer(),
            )
            if explained:
                context.log.info(f"{month}: reasons worded for {explained:,} more listed people")
            published = publish_practice_lists(
                connection,
                warehouse.paths.outbox,
                month,
                config.list_policy(),
                list_reports=warehouse.paths.list_reports,
                models_dir=models,
            )
    except (UnsafeCodeError, ValueError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    if published.dropped_scores:
        context.log.warning(
            f"{month}: {published.dropped_scores} scored people were not listed: not registered at "
            "the practice on the score date, deceased or opted out"
        )
    tiers = list(published.lists[0].listed_per_tier) if published.lists else []
    rows = [
        {
            "practice": p.practice_code,
            "scored": p.population,
            "listed": p.listed,
            **{tier_column(t): p.listed_per_tier[t] for t in tiers},
            "new": p.new_to_list,
            "changed_tier": p.changed_tier,
            "data_quality": str(p.data_quality),
        }
        for p in published.lists
    ]
    return dg.MaterializeResult(
        metadata={
            "practices": len(published.lists),
            "people_listed": sum(p.listed for p in published.lists),
            "new_to_lists": sum(p.new_to_list for p in published.lists),
            "scores_not_listable": published.dropped_scores,
            "model_version": published.model_version,
            "list_reference": published.reference,
            "lists": table(
                rows,
                {
                    "practice": "string",
                    "scored": "int",
                    "listed": "int",
                    **{tier_column(t): "int" for t in tiers},
                    "new": "int",
                    "changed_tier": "int",
                    "data_quality": "string",
                },
            ),
            "outbox": dg.MetadataValue.path(str(warehouse.paths.outbox)),
            "report": dg.MetadataValue.path(str(warehouse.paths.list_reports / f"{month}.json")),
        }
    )


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "csv", "html"},
    partitions_def=list_months,
    deps=[risk_scores, practice_risk_lists],
    pool="warehouse",
)
def federation_summaries(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: RunSettings
) -> dg.MaterializeResult:
    """outbox/<federation>/summary/<month>/: counts by practice and a pseudonymised tier file."""
    month = context.partition_key
    try:
        key = pseudonym_key(warehouse.paths, settings.pseudonym_key or None)
        with warehouse.connect() as connection:
            published = publish_federation_summaries(
                connection, warehouse.paths.outbox, month, key, models_dir=warehouse.paths.models
            )
    except (UnsafeCodeError, PseudonymKeyError, ValueError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    tiers = list(published[0].people_per_tier) if published else []
    rows = [
        {
            "federation": s.federation_code,
            "practices": s.practices,
            "scored": s.people_scored,
            **{tier_column(t): s.people_per_tier[t] for t in tiers},
            "expected_people_admitted_next_12m": round(
                float(s.expected_people_admitted_next_12m), 1
            ),
            "observed_people_admitted_last_12m": s.observed_people_admitted_last_12m,
        }
        for s in published
    ]
    return dg.MaterializeResult(
        metadata={
            "federations": len(published),
            "people_scored": sum(s.people_scored for s in published),
            "summaries": table(
                rows,
                {
                    "federation": "string",
                    "practices": "int",
                    "scored": "int",
                    **{tier_column(t): "int" for t in tiers},
                    "expected_people_admitted_next_12m": "float",
                    "observed_people_admitted_last_12m": "int",
                },
            ),
            "outbox": dg.MetadataValue.path(str(warehouse.paths.outbox)),
        }
    )


def _histogram(counts: list[int]) -> str:
    """The month's risk distribution (people per 5-point risk band) as an inline PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3), dpi=80)
    bands = [i * 5 for i in range(len(counts))]
    axes.bar(bands, counts, width=4.5, align="edge", color="#005eb8")
    axes.set_yscale("symlog")
    axes.set_xlabel("risk of an emergency admission in 12 months (%)")
    axes.set_ylabel("people")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return f"![risk distribution](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"
