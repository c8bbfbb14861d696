"""Issue 17's table of what was seen, with a measured column per size beside it and, where the issue sets
one ("done when" and item 3), the goal and whether each measured value meets it. The goals are set at
20,000 prompts; a smaller size's pass/fail says how far it is from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from scale.summary import (MB, cpu_ms_per_request, floor_parts, ideal_s, plain_ms_per_request, plain_s,
                           requests, store_kb_per_prompt)

Result = dict[str, Any]


@dataclass
class Row:
    name: str
    seen_2k: str
    seen_20k: str
    cell: Callable[[Result], str]
    """The measured value as shown."""
    goal: str = ""
    value: Callable[[Result], float] | None = None
    """The figure the goal bounds (<= limit); None for a row without a goal."""
    limit: float = 0.0
    needs_reads: bool = False
    """A figure of the reads (status, exports, report, review), which --skip-reads leaves out."""


def fmt_s(seconds: float) -> str:
    if seconds >= 120:
        return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s"


def read(result: Result, name: str) -> dict[str, Any]:
    return result["reads"][name]


def rephrase_items_per_s(result: Result) -> float:
    step = result["run"]["steps"].get("rephrase", {})
    return step.get("items", 0) / max(1e-9, step.get("wall_s", 0))


def wall_over_plain(result: Result) -> float:
    return result["run"]["wall_s"] / plain_s(result)


def export_row(what: str, fmt: str) -> Row:
    name = f"export {what} {fmt}"
    seen = {("prompts", "jsonl"): ("", "21 min 53 s"), ("prompts", "parquet"): ("", "19 min 56 s"),
            ("sft", "jsonl"): ("", "28 s"), ("sft", "parquet"): ("", "22 s")}[(what, fmt)]
    return Row(f"`export --what {what} --format {fmt}`", *seen,
               lambda r: f"{fmt_s(read(r, name)['wall_s'])} ({read(r, name)['peak_rss_mb']:.0f} MB)",
               "< 30 s", lambda r: read(r, name)["wall_s"], 30, needs_reads=True)


def review(result: Result) -> dict[str, Any]:
    return result["reads"]["review"]


ROWS = [
    Row("LLM requests", "12,474", "125,322", lambda r: f"{requests(r):,}"),
    Row("`sftgen run` CPU", "69 s", "1,287 s", lambda r: f"{r['run']['cpu_s']:,.0f} s"),
    Row("CPU per LLM request", "5.5 ms", "10.3 ms", lambda r: f"{cpu_ms_per_request(r):.2f} ms",
        "<= 1 ms", cpu_ms_per_request, 1.0),
    Row("wall / ideal for the requests", "209 s / 9.7 s", "2,817 s / 98 s",
        lambda r: f"{fmt_s(r['run']['wall_s'])} / {ideal_s(r):.1f} s"),
    Row("wall / plain client, same requests", "", "",
        lambda r: f"{fmt_s(r['run']['wall_s'])} / {fmt_s(plain_s(r))} = {wall_over_plain(r):.1f}x",
        "<= 1.5x (0.2 s, 64 in flight)", wall_over_plain, 1.5),
    Row("`rephrase` items/s", "76", "13", lambda r: f"{rephrase_items_per_s(r):.0f}"),
    Row("peak RSS", "297 MB", "444 MB", lambda r: f"{r['run']['peak_rss_mb']:.0f} MB"),
    Row("store on disk (per kept prompt)", "", "989 MB (~50 KB)",
        lambda r: f"{r['disk']['total'] / MB:.0f} MB ({store_kb_per_prompt(r):.1f} KB)",
        "<= 10 KB per prompt", store_kb_per_prompt, 10),
    Row("disk writes (write_bytes)", "0.83 GB", "16.1 GB", lambda r: f"{r['run']['write_bytes'] / 1e9:.2f} GB"),
    Row("unchanged second run (requests)", "7.5 s", "23.6 s",
        lambda r: f"{fmt_s(r['second_run']['wall_s'])} ({r['second_run']['served_requests']})",
        "< 2 s", lambda r: r["second_run"]["wall_s"], 2),
    Row("`sftgen status` (its snapshot / computed)", "", "12 s", lambda r: fmt_s(read(r, "status")["wall_s"])
        + (f" / {fmt_s(read(r, 'status computed')['wall_s'])}" if "status computed" in r.get("reads", {}) else ""),
        "< 1 s", lambda r: read(r, "status")["wall_s"], 1, needs_reads=True),
    *[export_row(what, fmt) for what in ("prompts", "sft") for fmt in ("jsonl", "parquet")],
    Row("`sftgen report` (peak RSS)", "26 s", "37 s, 642 MB",
        lambda r: f"{fmt_s(read(r, 'report')['wall_s'])}, {read(r, 'report')['peak_rss_mb']:.0f} MB",
        "< 30 s", lambda r: read(r, "report")["wall_s"], 30, needs_reads=True),
    Row("review app start (first page)", "16.7 s", "4.8 s", lambda r: f"{review(r)['start_s']:.2f} s",
        "< 2 s", lambda r: review(r)["start_s"], 2, needs_reads=True),
    Row("review first item", "0.38 s", "0.26 s", lambda r: f"{review(r)['first_item_s'] * 1000:.0f} ms",
        needs_reads=True),
    Row("review decide + next (median, min-max)", "0.13-0.18 s", "0.23-0.29 s",
        lambda r: f"{review(r)['decide_next_median_s'] * 1000:.0f} ms ({review(r)['decide_next_min_s'] * 1000:.0f}"
                  f"-{review(r)['decide_next_max_s'] * 1000:.0f})",
        "< 50 ms", lambda r: review(r)["decide_next_median_s"] * 1000, 50, needs_reads=True),
]


def measured(row: Row, result: Result) -> tuple[str, bool | None]:
    """The cell's text and whether it meets the row's goal (None: no goal, or not measured)."""
    if row.needs_reads and "reads" not in result:
        return "(not measured)", None
    text = row.cell(result)
    if row.value is None:
        return text, None
    met = row.value(result) <= row.limit
    return f"{text} {'PASS' if met else 'FAIL'}", met


def next_smaller(results: list[Result], result: Result) -> Result | None:
    """The measured size just below this one: 20,000 is compared with 2,000 (as the issue's goal says), not
    with the smallest size of the run."""
    below = [r for r in results if r["size"] < result["size"]]
    return max(below, key=lambda r: r["size"]) if below else None


def growth_row(results: list[Result]) -> Row:
    """CPU per request of a size over that of the next smaller size: the goal is <= 1.2x at 20,000 vs 2,000."""
    def ratio(r: Result) -> float:
        base = next_smaller(results, r)
        return cpu_ms_per_request(r) / cpu_ms_per_request(base) if base else float("nan")

    def cell(r: Result) -> str:
        base = next_smaller(results, r)
        return f"x{ratio(r):.2f} (vs {base['size']:,})" if base else ""

    return Row("CPU per request / at the next smaller size", "", "x1.9 (10.3 / 5.5)", cell, "<= 1.2x", ratio, 1.2)


def server_ms_per_request(result: Result) -> float:
    return 1000 * result["run"]["load"]["server_cpu_s"] / max(1, requests(result))


def yardstick_row(results: list[Result]) -> Row:
    """The machine's own speed beside the run: the fake server's CPU per request (the same work per request
    at every size, measured during the run) and the plain client's (measured after it). When they move
    between sizes, so does the run's figure, whatever the code does: the goal rows above are read against
    this one."""
    def cell(r: Result) -> str:
        text = f"{server_ms_per_request(r):.2f} / {plain_ms_per_request(r):.2f} ms"
        base = next_smaller(results, r)
        if base:
            text += (f" ({times(server_ms_per_request(r), server_ms_per_request(base))} / "
                     f"{times(plain_ms_per_request(r), plain_ms_per_request(base))})")
        return text

    def times(figure: float, before: float) -> str:
        return f"x{figure / before:.2f}" if before else "x?"  # the server's CPU reads 0 when /proc could not be read

    return Row("the machine: fake server / plain client CPU per request", "", "", cell)


def floor_row() -> Row:
    """The least the CPU per request could be with the pipeline's own work free: our client's transport and the
    steps that send no request (bench/scale/summary.py floor_parts). Beside the 1 ms goal, it says how much
    of the goal is left for everything else."""
    def cell(r: Result) -> str:
        parts = floor_parts(r)
        if parts is None:
            return "(--plain without sftgen)"
        return f"{parts[0]:.2f} + {parts[1]:.2f} = {sum(parts):.2f} ms"

    return Row("floor: our client's transport + the steps without requests, per request", "", "", cell)


def print_issue_table(results: list[Result]) -> None:
    small = min(results, key=lambda r: r["size"])
    rows = list(ROWS)
    if len(results) > 1:
        rows.insert(3, growth_row(results))
        rows.insert(4, yardstick_row(results))
    if any(floor_parts(r) is not None for r in results):
        rows.insert(3, floor_row())
    header = ["", "seen at 2,000", "seen at 20,000", "goal (at 20,000)", *[f"measured {r['size']:,}" for r in results]]
    print(f"\nissue 17's table (seen: fake server at 0.05 s; measured: {results[0]['latency_s']} s latency, "
          f"{results[0]['concurrency']} in flight):")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    verdicts: dict[int, list[bool]] = {r["size"]: [] for r in results}
    for row in rows:
        cells = []
        for result in results:
            if row.name.startswith("CPU per request / at the next") and result is small:
                cells.append("")
                continue
            text, met = measured(row, result)
            cells.append(text)
            if met is not None:
                verdicts[result["size"]].append(met)
        print("| " + " | ".join([row.name, row.seen_2k, row.seen_20k, row.goal, *cells]) + " |")
    for size, met in verdicts.items():
        print(f"goals met at {size:,} prompts: {sum(met)} of {len(met)}")
