"""Rendering the report page: one self-contained HTML file (inline CSS, inline SVG / data-URI charts, no
script), from the Jinja2 template `templates/report.html` with autoescape on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from sftgen.report import charts
from sftgen.report.collect import ReportData

TEMPLATES = Path(__file__).parent / "templates"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda value: "–" if value is None else f"{100 * value:.1f}%"
    env.filters["num"] = lambda value: "–" if value is None else (f"{value:.3f}" if isinstance(value, float)
                                                                 else f"{value:,}")
    return env


def build_charts(data: ReportData) -> dict[str, Any]:
    """Chart markup by name: SVG as Markup (made by matplotlib from our numbers), PNG as a data URI."""
    metrics = data.metrics
    coverage = metrics["coverage"]

    def svg(markup: str | None) -> Markup | None:
        return Markup(markup) if markup else None

    return {
        "funnel": svg(charts.funnel_chart(metrics["funnel"])),
        "subdomains": svg(charts.target_vs_actual(coverage["subdomains"])),
        "meta": {name: svg(charts.value_bars(spread["values"], name)) for name, spread in coverage["meta"].items()},
        "lengths": svg(charts.length_histograms(data.lengths)),
        "map": charts.embedding_scatter(data.maps.get("prompts")),
        "scores": svg(charts.score_bars(metrics["review"]["llm_scores"])),
    }


def render_report(data: ReportData) -> str:
    return environment().get_template("report.html").render(m=data.metrics, charts=build_charts(data))
