"""Great Expectations Data Docs that an auditor can read offline, saying what riskstrat says.

GX's own pages load about fifteen stylesheets and scripts from CDNs, fetch its logo from a
remote URL carrying the project's id, and build the index's result links with JavaScript:
offline (as an NHS network often is) they render unstyled and the index is empty. Here the
site is built by GX's own builders with riskstrat's views and renderers (named in the
site's configuration, ``SITE_CONFIG``):

* the views put riskstrat's templates (``warehouse/templates/data_docs/``) before GX's: every
  asset comes from the site's ``static/`` folder, the logo too, and the index's tables are
  written into the page rather than built by a script;
* the assets are copied from pinned PyPI packages (XStatic-Bootstrap 4.5.3, XStatic-jQuery
  3.7.1, XStatic-Font-Awesome 6.2.1: MIT, MIT, and CC BY 4.0 icons, OFL fonts and MIT code,
  each with its licence notice), locked in uv.lock, by
  ``copy_vendored_assets`` when Data Docs are built: nothing is fetched at run time and no
  copy is kept in the repository;
* the renderers label a failed ``<feed>.warnings`` suite "warned (staged)", as the
  data-quality report does, so a warning never reads as a failure, and say each status in
  words beside its icon.

No page may request anything from another machine; tests/test_auditor_pages.py
opens them in Chromium with the network disabled. Never imports dagster.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from great_expectations.render.components import RenderedStringTemplateContent
from great_expectations.render.renderer import (
    SiteIndexPageRenderer,
    ValidationResultsPageRenderer,
)
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from warehouse.files import write_text_atomic
from warehouse.months import MONTH_PATTERN, month_range

WARNINGS_SUITE_SUFFIX = ".warnings"
WARNED = "warned (staged)"
# Homes made before the severity split (session 3) stored each feed's results under one
# suite, ``<feed>_contract``, whose failure could be a warning alone. Those results are
# kept (they are the audit record of the months they read) and labelled for what they are.
COMBINED_SUITE_SUFFIX = "_contract"
COMBINED = "failed or warned (older combined suite)"

# site path under static/vendor/ -> (XStatic package, path inside its data folder)
VENDORED_ASSETS = {
    "bootstrap/css/bootstrap.min.css": ("bootstrap", "css/bootstrap.min.css"),
    "bootstrap/js/bootstrap.bundle.min.js": ("bootstrap", "js/bootstrap.bundle.min.js"),
    "jquery/jquery.min.js": ("jquery", "jquery.min.js"),
    "font-awesome/css/fontawesome.min.css": ("font_awesome", "css/fontawesome.min.css"),
    "font-awesome/css/solid.min.css": ("font_awesome", "css/solid.min.css"),
    "font-awesome/css/regular.min.css": ("font_awesome", "css/regular.min.css"),
    "font-awesome/webfonts/fa-solid-900.woff2": ("font_awesome", "webfonts/fa-solid-900.woff2"),
    "font-awesome/webfonts/fa-solid-900.ttf": ("font_awesome", "webfonts/fa-solid-900.ttf"),
    "font-awesome/webfonts/fa-regular-400.woff2": (
        "font_awesome",
        "webfonts/fa-regular-400.woff2",
    ),
    "font-awesome/webfonts/fa-regular-400.ttf": ("font_awesome", "webfonts/fa-regular-400.ttf"),
    "font-awesome/LICENSE.txt": ("font_awesome", "LICENSE.txt"),
}

_MODULE = __name__
SITE_CONFIG: dict[str, Any] = {
    "class_name": "SiteBuilder",
    "show_how_to_buttons": False,
    # Relative to <home>/gx, so a home can be moved as a whole.
    "store_backend": {
        "class_name": "TupleFilesystemStoreBackend",
        "base_directory": "../reports/data_docs/",
    },
    "site_index_builder": {
        "class_name": "DefaultSiteIndexBuilder",
        "renderer": {"module_name": _MODULE, "class_name": "IndexPageRenderer"},
        "view": {"module_name": _MODULE, "class_name": "OfflineIndexPageView"},
    },
    "site_section_builders": {
        "expectations": {"view": {"module_name": _MODULE, "class_name": "OfflinePageView"}},
        "validations": {
            "renderer": {"module_name": _MODULE, "class_name": "ValidationPageRenderer"},
            "view": {"module_name": _MODULE, "class_name": "OfflinePageView"},
        },
        "profiling": "None",  # no profiling results here: no section for them
    },
}


def copy_vendored_assets(site: Path) -> None:
    """Copy the pinned stylesheets, scripts, fonts and licences into <site>/static/vendor/."""
    for target, (package, source) in VENDORED_ASSETS.items():
        base = Path(importlib.import_module(f"xstatic.pkg.{package}").BASE_DIR)
        destination = site / "static" / "vendor" / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base / source, destination)


def is_warnings_suite(suite_name: str | None) -> bool:
    return bool(suite_name) and str(suite_name).endswith(WARNINGS_SUITE_SUFFIX)


def is_combined_suite(suite_name: str | None) -> bool:
    return bool(suite_name) and str(suite_name).endswith(COMBINED_SUITE_SUFFIX)


def result_status(suite_name: str | None, success: bool) -> str:
    """A stored result's status in the words the data-quality report uses."""
    if success:
        return "passed"
    if is_warnings_suite(suite_name):
        return WARNED
    if is_combined_suite(suite_name):
        return COMBINED
    return "failed"


class OfflinePageView(DefaultJinjaPageView):
    """GX's page view with riskstrat's templates first and every path to static/ computed."""

    def __init__(self, custom_styles_directory: Any = None, custom_views_directory: Any = None):
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.loader = ChoiceLoader(
            [PackageLoader("warehouse", "templates/data_docs"), self.env.loader]  # type: ignore[list-item]
        )
        self.env.globals["default_styles"] = _default_styles()

    def render(self, document: Any, template: Any = None, **kwargs: Any) -> str:
        fields = document.to_json_dict() if hasattr(document, "to_json_dict") else document
        static_dir = _static_dir(
            str(fields.get("renderer_type") or ""), fields.get("expectation_suite_name")
        )
        home_url = f"{static_dir}index.html" if static_dir else "#"
        return str(
            super().render(document, template, static_dir=static_dir, home_url=home_url, **kwargs)
        )


class OfflineIndexPageView(OfflinePageView):
    _template = DefaultJinjaIndexPageView._template


def _static_dir(renderer_type: str, suite_name: str | None) -> str:
    """The page's way back to the site's root: validation pages sit at
    validations/<suite parts>/<run name>/<run time>/<batch>.html, suite pages at
    expectations/<suite parts>.html, the index at the root."""
    depth = str(suite_name or "").count(".") + 1
    if "ValidationResults" in renderer_type or "ProfilingResults" in renderer_type:
        return "../" * (depth + 3)
    if "ExpectationSuite" in renderer_type:
        return "../" * depth
    return ""


def _default_styles() -> str:
    """GX's stylesheet without its one remote image (a dark-mode logo)."""
    text = (
        Path(importlib.import_module("great_expectations").__file__ or "").parent
        / "render/view/static/styles/data_docs_default_styles.css"
    ).read_text(encoding="utf-8")
    return re.sub(r"url\(\s*['\"]?https?://[^)]*\)", "none", text)


class ValidationPageRenderer(ValidationResultsPageRenderer):
    """A failed warnings suite's overview says "Warned (staged)", not "Failed"; an older
    combined suite's says that its failures may be warnings."""

    @classmethod
    def _render_validation_header(cls, validation_results: Any) -> Any:
        header = super()._render_validation_header(validation_results)
        suite = validation_results.suite_name
        if validation_results.success or not (is_warnings_suite(suite) or is_combined_suite(suite)):
            return header
        parameters = header.subheader.string_template["params"]
        parameters["html_success_icon"] = _icon("fa-exclamation-triangle text-warning")
        if is_warnings_suite(suite):
            parameters["success"] = (
                "Warned (staged): rows breaking these warning rules were staged all the same"
            )
        else:
            parameters["success"] = (
                "Failed or warned: this older suite held blocking and warning rules together;"
                " each expectation's severity (in its meta) says which of its failures blocked"
            )
        return header


class IndexPageRenderer(SiteIndexPageRenderer):
    """Each result's status in words beside its icon (a warnings suite that failed reads
    "warned (staged)"), and its run name a link to its page."""

    @classmethod
    def _generate_validation_results_link_table(cls, index_links_dict: Any) -> Any:
        table = super()._generate_validation_results_link_table(index_links_dict)
        for row in table.table_data:
            suite = row["_expectation_suite_name_sort"]
            status = result_status(suite, row["_validation_success_text"] == "Success")
            icon = {
                "passed": "fa-check-circle text-success",
                "failed": "fa-times text-danger",
            }.get(status, "fa-exclamation-triangle text-warning")
            row["_validation_success_text"] = status
            row["validation_success"] = _status(icon, status)
            row["run_name"] = _link(str(row["run_name"]), row["_table_row_link_path"])
        return table

    @classmethod
    def _generate_expectation_suites_link_table(cls, index_links_dict: Any) -> Any:
        table = super()._generate_expectation_suites_link_table(index_links_dict)
        for row in table.table_data:
            row["expectation_suite_name"] = _link(
                str(row["expectation_suite_name"]), row["_table_row_link_path"]
            )
        return table


def _icon(classes: str) -> str:
    return f'<i class="fas {classes}" aria-hidden="true"></i>'


def _status(icon: str, text: str) -> RenderedStringTemplateContent:
    # GX escapes every parameter but a few it trusts, html_success_icon among them.
    return RenderedStringTemplateContent(
        content_block_type="string_template",
        string_template={
            "template": "$html_success_icon $status",
            "params": {"html_success_icon": _icon(icon), "status": text},
            "styling": {"classes": ["riskstrat-status"]},
        },
    )


def _link(text: str, href: str) -> RenderedStringTemplateContent:
    return RenderedStringTemplateContent(
        content_block_type="string_template",
        string_template={
            "template": "$text",
            "params": {"text": text},
            "tag": "a",
            "styling": {"attributes": {"href": href}},
        },
    )


# A validation result's run name: "<month>-<feed>", "<first>..<last>-<feed>" (a range run)
# or "reference-<feed>".
_RUN_NAME = re.compile(r"^(?:(\d{4}-\d{2})(?:\.\.(\d{4}-\d{2}))?|reference)-(.+)$")


def month_page(month: str) -> str:
    """A month's suite-results page, relative to the Data Docs site."""
    return f"months/{month}.html"


def write_month_pages(home: Path) -> list[Path]:
    """Write ``reports/data_docs/months/<month>.html``: each month's suite results, linked.

    GX names a validation page by its run time, so no fixed address leads to "the suites
    of 2024-03". These pages give one: for each month a validated run covered, every feed's
    ``.critical`` and ``.warnings`` results, newest first. The newest describes the staged
    month now; earlier ones were superseded by a redelivery or a rerun. The month's
    data-quality report and the auditor's index link here.
    """
    site = home / "reports" / "data_docs"
    # Every month with a data-quality report gets a page, even one no suite read (a month
    # not loaded), so the report's link always leads somewhere that says why.
    reported = (home / "reports" / "data_quality").glob("*.json")
    by_month: dict[str, list[dict[str, Any]]] = {
        path.stem: [] for path in reported if MONTH_PATTERN.match(path.stem)
    }
    for result in _stored_results(home):
        for month in result["months"]:
            by_month.setdefault(month, []).append(result)
    environment = Environment(
        loader=PackageLoader("warehouse", "templates"), autoescape=select_autoescape()
    )
    template = environment.get_template("data_docs_month.html")
    (site / "months").mkdir(parents=True, exist_ok=True)
    written = []
    for month, results in sorted(by_month.items()):
        feeds = []
        for feed in sorted({r["feed"] for r in results}):
            rows = sorted((r for r in results if r["feed"] == feed), key=lambda r: r["severity"])
            rows.sort(key=lambda r: r["run_time"], reverse=True)  # newest first, critical first
            newest = rows[0]["run_time"]
            feeds.append(
                {"feed": feed, "results": [{**r, "current": r["run_time"] == newest} for r in rows]}
            )
        path = site / month_page(month)
        combined = any(r["severity"] == "combined" for r in results)
        write_text_atomic(path, template.render(month=month, feeds=feeds, combined=combined))
        written.append(path)
    return written


def _stored_results(home: Path) -> list[dict[str, Any]]:
    """Every stored result of a month or a range, with its page's address: the severity
    suites' (``validations/<feed>/<severity>/<run name>/<run time>/<batch>.json``) and an
    older home's combined suites' (``validations/<feed>_contract/<run name>/...``)."""
    store = home / "gx" / "uncommitted" / "validations"
    stored = [(path, path.parts[-5:-3]) for path in sorted(store.glob("*/*/*/*/*.json"))]
    stored += [
        (path, (path.parts[-4].removesuffix(COMBINED_SUITE_SUFFIX), "combined"))
        for path in sorted(store.glob(f"*{COMBINED_SUITE_SUFFIX}/*/*/*.json"))
    ]
    results = []
    for path, (feed, severity) in stored:
        run_name, run_time = path.parent.parent.name, path.parent.name
        match = _RUN_NAME.match(run_name)
        if not match or not match.group(1) or severity not in ("critical", "warnings", "combined"):
            continue  # a reference feed's result, or not one of riskstrat's suites
        first, last = match.group(1), match.group(2) or match.group(1)
        suite = f"{feed}{COMBINED_SUITE_SUFFIX}" if severity == "combined" else f"{feed}.{severity}"
        document = json.loads(path.read_text(encoding="utf-8"))
        statistics = document.get("statistics", {})
        success = bool(document.get("success"))
        folder = path.parent.relative_to(store).as_posix()
        results.append(
            {
                "feed": feed,
                "suite": suite,
                "severity": severity,
                "status": result_status(suite, success),
                "run_name": run_name,
                "run_time": run_time,
                "range": first if first == last else f"{first} to {last}",
                "months": month_range(first, last),
                "success": success,
                "evaluated": statistics.get("evaluated_expectations", 0),
                "failed": statistics.get("unsuccessful_expectations", 0),
                "href": f"../validations/{folder}/{path.stem}.html",
            }
        )
    return results
