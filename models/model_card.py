"""Render the model card (reports/model/model_card.md) from the evaluation and fairness audit.

The card follows the TRIPOD+AI headings. It is built only from reports that hold counts
and metrics, so it can never contain an NHS number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"


def predictor_groups(metadata: dict[str, Any], features: Any = None) -> list[tuple[str, list[str]]]:
    names = [f["name"] for f in metadata["encoding"]["features"]]
    if features is None:
        try:
            from models.feature_catalogue import FEATURES

            features = FEATURES
        except ImportError:
            features = ()
    group_of = {f.name: f.group for f in features}
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(group_of.get(name, "other").replace("_", " "), []).append(name)
    return list(groups.items())


def render_model_card(
    evaluation: dict[str, Any],
    fairness: dict[str, Any],
    metadata: dict[str, Any],
    features: Any = None,
) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    template = environment.get_template("model_card.md.j2")
    return template.render(
        evaluation=evaluation,
        v=evaluation["validation"],
        fairness=fairness,
        metadata=metadata,
        predictor_groups=predictor_groups(metadata, features),
    )


def write_model_card(
    evaluation: dict[str, Any],
    fairness: dict[str, Any],
    metadata: dict[str, Any],
    folder: Path,
    features: Any = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model_card.md"
    path.write_text(render_model_card(evaluation, fairness, metadata, features))
    return path
