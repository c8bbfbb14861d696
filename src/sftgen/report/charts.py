"""The report's charts, drawn with matplotlib (Agg) into inline SVG strings (or a PNG data URI for the
scatter plot, whose thousands of points would make a heavy SVG). Nothing refers to a file or a URL."""

from __future__ import annotations

import base64
import io
import re
from itertools import count
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

KEPT_COLOUR, DROPPED_COLOUR, ERROR_COLOUR = "#4c9a6a", "#d08c3c", "#c44e52"
TARGET_COLOUR, ACTUAL_COLOUR = "#9bb7d4", "#2f5d8a"
PALETTE = plt.get_cmap("tab10").colors
_chart_ids = count()
plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})


def to_svg(figure) -> str:
    buffer = io.StringIO()
    plt.rcParams["svg.hashsalt"] = f"chart{next(_chart_ids)}"  # unique ids when several SVGs share a page
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML header and DOCTYPE: the SVG is inlined in HTML
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def to_png_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def funnel_chart(funnel: list[dict[str, Any]]) -> str | None:
    if not funnel:
        return None
    names = [step["name"] for step in funnel][::-1]
    kept = [step["kept"] for step in funnel][::-1]
    dropped = [sum(step["dropped"].values()) for step in funnel][::-1]
    errors = [step["errors"] for step in funnel][::-1]
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(names) + 0.9))
    axes.barh(names, kept, color=KEPT_COLOUR, label="kept")
    axes.barh(names, dropped, left=kept, color=DROPPED_COLOUR, label="dropped")
    axes.barh(names, errors, left=[k + d for k, d in zip(kept, dropped)], color=ERROR_COLOUR, label="errors")
    axes.set_xlabel("items in")
    axes.legend(loc="lower right", frameon=False)
    return to_svg(figure)


def target_vs_actual(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    names = [row["subdomain"] for row in rows][::-1]
    positions = range(len(names))
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(names) + 0.9))
    axes.barh([p + 0.2 for p in positions], [row["target_share"] for row in rows][::-1], height=0.4,
              color=TARGET_COLOUR, label="target share")
    axes.barh([p - 0.2 for p in positions], [row["actual_share"] for row in rows][::-1], height=0.4,
              color=ACTUAL_COLOUR, label="actual share")
    axes.set_yticks(list(positions), names)
    axes.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes.legend(loc="lower right", frameon=False)
    return to_svg(figure)


def value_bars(values: list[dict[str, Any]], label: str) -> str | None:
    if not values:
        return None
    names = [shorten(row["value"]) for row in values][::-1]
    figure, axes = plt.subplots(figsize=(5, 0.26 * len(names) + 0.9))
    axes.barh(names, [row["share"] for row in values][::-1], color=ACTUAL_COLOUR)
    axes.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes.set_xlabel(f"share of prompts by {label}")
    return to_svg(figure)


def length_histograms(lengths: dict[str, list[int]]) -> str | None:
    present = {name: values for name, values in lengths.items() if values}
    if not present:
        return None
    figure, axes = plt.subplots(figsize=(5, 3.4))
    top = max(max(values) for values in present.values())
    bins = min(50, max(5, top))
    for index, (name, values) in enumerate(present.items()):
        axes.hist(values, bins=bins, range=(0, top), density=True, histtype="step", linewidth=1.6,
                  color=PALETTE[index % len(PALETTE)], label=f"{name} (n={len(values)})")
    axes.set_xlabel("words")
    axes.set_ylabel("density")
    axes.legend(frameon=False)
    return to_svg(figure)


def embedding_scatter(points: dict[str, Any] | None) -> str | None:
    if not points:
        return None
    labels = points["labels"]
    figure, axes = plt.subplots(figsize=(5, 3.8))
    for index, label in enumerate(sorted(set(labels))):
        chosen = [i for i, value in enumerate(labels) if value == label]
        axes.scatter([points["x"][i] for i in chosen], [points["y"][i] for i in chosen], s=8, alpha=0.6,
                     color=PALETTE[index % len(PALETTE)], label=shorten(label))
    axes.set_xlabel("PC 1")
    axes.set_ylabel("PC 2")
    axes.legend(frameon=False, fontsize=8, markerscale=2, loc="best")
    return to_png_uri(figure)


def score_bars(distributions: dict[str, dict[str, Any]]) -> str | None:
    if not distributions:
        return None
    figure, axes_list = plt.subplots(1, len(distributions), figsize=(2.6 * len(distributions) + 0.5, 2.4),
                                     squeeze=False)
    for axes, (dimension, data) in zip(axes_list[0], distributions.items()):
        axes.bar(list(data["counts"]), list(data["counts"].values()), color=ACTUAL_COLOUR)
        axes.set_title(f"{dimension} (mean {data['mean']})", fontsize=9)
        axes.set_xlabel("score")
    axes_list[0][0].set_ylabel("answers")
    return to_svg(figure)


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
