"""What bench/pipeline_scale.py prints: the figures of each size, the issue's table with the measured
columns beside it, per-step growth between the smallest and the largest size, and the goals."""

from __future__ import annotations

import math
from typing import Any

MB = 1024 * 1024

# Issue 17's "What was seen" (fake server at 0.05 s, 64 in flight, shared machine).
ISSUE = {
    "LLM requests": ("12,474", "125,322"),
    "`sftgen run` CPU (ms per request)": ("69 s (5.5)", "1,287 s (10.3)"),
    "wall / ideal for the requests": ("209 s / 9.7 s", "2,817 s / 98 s"),
    "wall / plain client, same requests": ("", ""),
    "`rephrase` items/s": ("76", "13"),
    "peak RSS": ("297 MB", "444 MB"),
    "store on disk (per kept prompt)": ("", "989 MB (~50 KB)"),
    "disk writes (write_bytes)": ("0.83 GB", "16.1 GB"),
    "unchanged second run (requests)": ("7.5 s", "23.6 s"),
    "`export --what prompts` jsonl / parquet": ("", "21 min 53 s / 19 min 56 s"),
    "`export --what sft` jsonl / parquet": ("", "28 s / 22 s"),
    "`sftgen status`": ("", "12 s"),
    "`sftgen report` (peak RSS)": ("26 s", "37 s, 642 MB"),
    "review: start / first item / decide+next": ("16.7 s / 0.38 s / 0.13-0.18 s", "4.8 s / 0.26 s / 0.23-0.29 s"),
}


def requests(result: dict[str, Any]) -> int:
    return result["run"]["served_requests"]


def ideal_s(result: dict[str, Any]) -> float:
    return requests(result) * result["latency_s"] / result["concurrency"]


def plain_s(result: dict[str, Any]) -> float:
    plain = result["plain"].get("aiohttp") or next(iter(result["plain"].values()))
    return plain["wall_s"]


def cpu_ms_per_request(result: dict[str, Any]) -> float:
    return 1000 * result["run"]["cpu_s"] / max(1, requests(result))


def store_kb_per_prompt(result: dict[str, Any]) -> float:
    return result["disk"]["total"] / 1024 / max(1, result["kept"]["prompt"])


def step_rows(result: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    return list(result["run"]["steps"].items())


def print_size(result: dict[str, Any]) -> None:
    run, n = result["run"], result["size"]
    kept = result["kept"]
    print(f"\n== {n:,} prompts wanted: kept {kept['prompt']:,} prompts and {kept['answer']:,} answers "
          f"(fixed latency {result['latency_s']} s, {result['concurrency']} in flight"
          f"{', profiled with py-spy' if result['profiled'] else ''}) ==")
    print(f"sftgen run: {requests(result):,} LLM requests (max in flight {run['max_in_flight']}), "
          f"wall {run['wall_s']:.1f} s = {run['wall_s'] / ideal_s(result):.1f}x the ideal {ideal_s(result):.1f} s")
    for name, plain in result["plain"].items():
        print(f"  plain {name} client, same {plain['requests']:,} requests: {plain['wall_s']:.1f} s "
              f"({plain['wall_s'] / ideal_s(result):.2f}x the ideal; {plain['cpu_ms_per_request']:.2f} ms CPU per "
              f"request; {plain['ok']:,} ok): the run took {run['wall_s'] / plain['wall_s']:.1f}x as long")
    print(f"  CPU {run['cpu_s']:.1f} s = {cpu_ms_per_request(result):.2f} ms per LLM request; peak RSS "
          f"{run['peak_rss_mb']:.0f} MB; disk writes {run['write_bytes'] / 1e9:.2f} GB (write() calls "
          f"{run['wchar'] / 1e9:.2f} GB)")
    closing = [run["phases"].get(p, {}).get("wall_s", 0) for p in ("show_status", "print_samples")]
    print(f"  executor {run['phases'].get('executor', {}).get('wall_s', 0):.1f} s; closing status "
          f"{closing[0]:.1f} s + samples {closing[1]:.1f} s")
    load = run["load"]
    print(f"  machine: {load['cores_busy']:.2f} of {load['cores']} cores busy on average; the fake server used "
          f"{load['server_cpu_s']:.0f} CPU-s, others {load['others_cpu_s']:.0f} CPU-s "
          f"({load['others_cores']:.2f} cores); load average {load['load_after']:.2f} at the end")
    print_steps(result)
    print_store(result)
    second = result["second_run"]
    print(f"unchanged second run: {second['wall_s']:.1f} s wall, {second['cpu_s']:.1f} s CPU, "
          f"{second['served_requests']} LLM requests; executor {second['phases'].get('executor', {}).get('wall_s', 0):.1f} s, "
          f"closing status {second['phases'].get('show_status', {}).get('wall_s', 0):.1f} s + samples "
          f"{second['phases'].get('print_samples', {}).get('wall_s', 0):.1f} s")
    if "profile" in second:
        print_flat_profile(second["profile"], second["cpu_s"])
    if "reads" in result:
        print_reads(result["reads"])
    if "profile" in result:
        print_profile(result)


def print_steps(result: dict[str, Any]) -> None:
    print(f"  {'step':<22}{'passes':>7}{'items':>8}{'LLM req':>9}{'wall s':>9}{'ideal s':>8}{'CPU s':>8}"
          f"{'CPU ms/req':>11}{'CPU ms/item':>12}{'items/s':>9}")
    for name, step in step_rows(result):
        if not step["items"]:
            continue
        per_request = f"{1000 * step['cpu_s'] / step['llm_requests']:.2f}" if step["llm_requests"] else "-"
        ideal = step["llm_requests"] * result["latency_s"] / result["concurrency"]
        print(f"  {name:<22}{step['busy_passes']:>7}{step['items']:>8,}{step['llm_requests']:>9,}"
              f"{step['wall_s']:>9.1f}{ideal:>8.1f}{step['cpu_s']:>8.1f}{per_request:>11}"
              f"{1000 * step['cpu_s'] / step['items']:>12.2f}{step['items'] / max(1e-9, step['wall_s']):>9.0f}")
    idle = sum(s["cpu_s"] for s in result["run"]["steps"].values() if not s["items"])
    print(f"  (steps with nothing to do: {idle:.1f} CPU-s over all passes)")


def print_store(result: dict[str, Any]) -> None:
    disk = result["disk"]
    parts = ", ".join(f"{name} {size / MB:.0f}" for name, size in sorted(disk.items(), key=lambda i: -i[1])
                      if name != "total")
    print(f"store on disk: {disk['total'] / MB:.0f} MB ({parts} MB) = {store_kb_per_prompt(result):.1f} KB per "
          "kept prompt")
    tables = list(result["tables"].items())[:8]
    print("  in store.db: " + ", ".join(f"{name} {size / MB:.0f} MB" for name, size in tables))
    columns = [(k, v) for k, v in result["columns"].items() if not k.endswith(".rows")][:8]
    print("  largest columns: " + ", ".join(f"{name} {size / MB:.0f} MB" for name, size in columns)
          + f" ({result['columns'].get('llm_cache.rows', 0):,} cache rows)")


def print_reads(reads: dict[str, Any]) -> None:
    for name, figures in reads.items():
        if name == "review":
            continue
        extra = f", file {figures['file_bytes'] / MB:.1f} MB" if "file_bytes" in figures else ""
        phases = figures.get("phases", {})
        split = ""
        if "export_rows" in phases:
            split = f" (rows {phases['export_rows']['wall_s']:.1f} s, writing {phases['write_rows']['wall_s']:.1f} s)"
        print(f"{name}: {figures['wall_s']:.1f} s wall, {figures['cpu_s']:.1f} s CPU, peak RSS "
              f"{figures['peak_rss_mb']:.0f} MB{extra}{split}")
        if "profile" in figures:
            print_flat_profile(figures["profile"], figures["cpu_s"])
    review = reads["review"]
    print(f"review app: start (first page) {review['start_s']:.2f} s, first item {review['first_item_s']:.3f} s, "
          f"decide + next {review['decide_next_median_s'] * 1000:.0f} ms median "
          f"({review['decide_next_min_s'] * 1000:.0f}-{review['decide_next_max_s'] * 1000:.0f} ms over "
          f"{review['decisions']}), stats page {review['stats_s']:.2f} s")


def bucket_cpu_s(result: dict[str, Any], name: str, bucket: dict[str, Any]) -> float:
    """A bucket's CPU: its step's measured CPU; for a phase, its share of the samples times the run's CPU
    (samples count runnable time, which a busy machine stretches unevenly between steps)."""
    step = result["run"]["steps"].get(name)
    if step is not None:
        return step["cpu_s"]
    return bucket["share_of_run"] * result["run"]["cpu_s"]


def places(result: dict[str, Any]) -> list[tuple[str, float]]:
    """sftgen functions by estimated CPU-s over the whole run (inclusive): each bucket's measured CPU
    times the function's share of that bucket's samples."""
    totals: dict[str, float] = {}
    profile = result["profile"]
    for name, bucket in [*profile["buckets"].items(), *profile["other_threads"].items()]:
        cpu = bucket_cpu_s(result, name, bucket)
        for label, share in bucket["inclusive_sftgen"]:
            totals[label] = totals.get(label, 0.0) + cpu * share
    return sorted(totals.items(), key=lambda item: -item[1])


def print_flat_profile(profile: dict[str, Any], cpu_s: float, lines: int = 8) -> None:
    """A command's places over all its samples (inclusive share x its CPU)."""
    totals: dict[str, float] = {}
    for bucket in [*profile["buckets"].values(), *profile["other_threads"].values()]:
        for label, share in bucket["inclusive_sftgen"]:
            totals[label] = totals.get(label, 0.0) + share * bucket["share_of_run"]
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:lines]
    print("    py-spy: " + "; ".join(f"{label} {share:.0%} ({share * cpu_s:.1f} s)" for label, share in ranked))


def print_profile(result: dict[str, Any], buckets: int = 12, lines: int = 6) -> None:
    profile = result["profile"]
    print(f"py-spy profile ({profile['samples']:,} samples on CPU; {profile['profile']}); per step, the places "
          "(inclusive share of the step's samples, x its measured CPU):")
    ranked = sorted([*profile["buckets"].items(), *profile["other_threads"].items()],
                    key=lambda item: -bucket_cpu_s(result, *item))
    for name, bucket in ranked[:buckets]:
        cpu = bucket_cpu_s(result, name, bucket)
        where = "; ".join(f"{label} {share:.0%} ({cpu * share:.1f} s)"
                          for label, share in bucket["inclusive_sftgen"][:lines])
        leaves = "; ".join(f"{label} {share:.0%}" for label, share in bucket["self"][:4])
        print(f"  {name} ({cpu:.1f} CPU-s; {bucket['thread_samples'] / max(1, bucket['samples']):.0%} of its "
              f"samples in threads): {where}\n      leaves: {leaves}")
    print("  the whole run's places, by estimated CPU-s (inclusive): " + "; ".join(
        f"{label} {seconds:.1f}" for label, seconds in places(result)[:15]))


def fmt_s(seconds: float) -> str:
    if seconds >= 120:
        return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s"


def measured_column(result: dict[str, Any]) -> dict[str, str]:
    run, steps = result["run"], result["run"]["steps"]
    rephrase = steps.get("rephrase", {})
    column = {
        "LLM requests": f"{requests(result):,}",
        "`sftgen run` CPU (ms per request)": f"{run['cpu_s']:,.0f} s ({cpu_ms_per_request(result):.1f})",
        "wall / ideal for the requests": f"{fmt_s(run['wall_s'])} / {ideal_s(result):.1f} s",
        "wall / plain client, same requests": f"{fmt_s(run['wall_s'])} / {plain_s(result):.1f} s",
        "`rephrase` items/s": f"{rephrase.get('items', 0) / max(1e-9, rephrase.get('wall_s', 0)):.0f}",
        "peak RSS": f"{run['peak_rss_mb']:.0f} MB",
        "store on disk (per kept prompt)": f"{result['disk']['total'] / MB:.0f} MB ({store_kb_per_prompt(result):.0f} KB)",
        "disk writes (write_bytes)": f"{run['write_bytes'] / 1e9:.2f} GB",
        "unchanged second run (requests)": f"{fmt_s(result['second_run']['wall_s'])} "
                                           f"({result['second_run']['served_requests']})",
    }
    reads = result.get("reads")
    if reads:
        column["`export --what prompts` jsonl / parquet"] = (
            f"{fmt_s(reads['export prompts jsonl']['wall_s'])} / {fmt_s(reads['export prompts parquet']['wall_s'])}")
        column["`export --what sft` jsonl / parquet"] = (
            f"{fmt_s(reads['export sft jsonl']['wall_s'])} / {fmt_s(reads['export sft parquet']['wall_s'])}")
        column["`sftgen status`"] = fmt_s(reads["status"]["wall_s"])
        column["`sftgen report` (peak RSS)"] = f"{fmt_s(reads['report']['wall_s'])}, {reads['report']['peak_rss_mb']:.0f} MB"
        review = reads["review"]
        column["review: start / first item / decide+next"] = (
            f"{review['start_s']:.1f} s / {review['first_item_s']:.2f} s / "
            f"{review['decide_next_min_s']:.2f}-{review['decide_next_max_s']:.2f} s")
    return column


def print_issue_table(results: list[dict[str, Any]]) -> None:
    columns = [(f"measured {r['size']:,}", measured_column(r)) for r in results]
    header = ["", "issue 2,000", "issue 20,000", *[name for name, _ in columns]]
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row, (small, large) in ISSUE.items():
        cells = [row, small, large, *[column.get(row, "") for _, column in columns]]
        print("| " + " | ".join(cells) + " |")


def print_growth(small: dict[str, Any], large: dict[str, Any]) -> None:
    """CPU per item of each step at the largest size over the smallest: above 1, the step's cost per item
    grows with the store."""
    print(f"\nper-step CPU per item, {large['size']:,} vs {small['size']:,} prompts (x = growth per item):")
    for name, step in large["run"]["steps"].items():
        before = small["run"]["steps"].get(name)
        if not step["items"] or not before or not before["items"]:
            continue
        per_item = (1000 * before["cpu_s"] / before["items"], 1000 * step["cpu_s"] / step["items"])
        growth = per_item[1] / per_item[0] if per_item[0] else math.inf
        flag = "  <- grows" if growth > 1.2 else ""
        print(f"  {name:<22}{per_item[0]:8.2f} -> {per_item[1]:8.2f} ms/item  x{growth:5.2f}  "
              f"(CPU {before['cpu_s']:.1f} -> {step['cpu_s']:.1f} s){flag}")


def goal_line(label: str, value: float, goal: float, unit: str = "", lower_is_better: bool = True) -> None:
    met = value <= goal if lower_is_better else value >= goal
    print(f"  {label:<62} {value:9.2f}{unit:<3} goal <= {goal}{unit}  {'ok' if met else 'MISSED'}")


def print_goals(results: list[dict[str, Any]]) -> None:
    small, large = min(results, key=lambda r: r["size"]), max(results, key=lambda r: r["size"])
    if small is not large:
        print_growth(small, large)
    n = f"{large['size']:,}"
    print(f"\ngoals of issue 17 (\"done when\"), at {n} prompts:")
    goal_line("pipeline CPU per LLM request, ms", cpu_ms_per_request(large), 1.0, " ms")
    goal_line(f"whole run / plain client, same requests ({large['latency_s']} s latency; goal at 0.2 s)",
              large["run"]["wall_s"] / plain_s(large), 1.5, "x")
    if small is not large:
        goal_line(f"CPU per request at {n} / at {small['size']:,}",
                  cpu_ms_per_request(large) / cpu_ms_per_request(small), 1.2, "x")
    goal_line("store per kept prompt, KB", store_kb_per_prompt(large), 10, " KB")
    goal_line("unchanged second run, s (closing status included)", large["second_run"]["wall_s"], 2, " s")
    reads = large.get("reads")
    if not reads:
        return
    goal_line("`sftgen status`, s", reads["status"]["wall_s"], 1, " s")
    for name in ("export prompts jsonl", "export prompts parquet", "export sft jsonl", "export sft parquet"):
        goal_line(f"`sftgen {name.replace('export ', 'export --what ').replace(' jsonl', ' --format jsonl').replace(' parquet', ' --format parquet')}`, s",
                  reads[name]["wall_s"], 30, " s")
    goal_line("`sftgen report`, s", reads["report"]["wall_s"], 30, " s")
    goal_line("review app start (first page), s", reads["review"]["start_s"], 2, " s")
    goal_line("review decide + next (median), ms", reads["review"]["decide_next_median_s"] * 1000, 50, " ms")
