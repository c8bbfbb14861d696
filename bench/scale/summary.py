"""What bench/pipeline_scale.py prints about each size: its figures, per step, the store, the reads and
the profile; and the growth per item of each step from the next smaller size to the largest. The issue's
table with its goals is bench/scale/issue_table.py."""

from __future__ import annotations

import math
from typing import Any

MB = 1024 * 1024

def requests(result: dict[str, Any]) -> int:
    return result["run"]["served_requests"]


def ideal_s(result: dict[str, Any]) -> float:
    return requests(result) * result["latency_s"] / result["concurrency"]


def plain_run(result: dict[str, Any]) -> dict[str, Any]:
    return result["plain"].get("aiohttp") or next(iter(result["plain"].values()))


def plain_s(result: dict[str, Any]) -> float:
    return plain_run(result)["wall_s"]


def plain_ms_per_request(result: dict[str, Any]) -> float:
    return plain_run(result)["cpu_ms_per_request"]


def cpu_ms_per_request(result: dict[str, Any]) -> float:
    return 1000 * result["run"]["cpu_s"] / max(1, requests(result))


def floor_parts(result: dict[str, Any]) -> tuple[float, float] | None:
    """What the CPU per request cannot go below without other work: our client's transport alone sending the
    same requests (the `sftgen` plain loop), and the CPU of the steps that sent no request (search, retrieval,
    dedup, gates, ingest), spread over the run's requests; None when the sftgen loop was not run."""
    client = result["plain"].get("sftgen")
    if client is None:
        return None
    without = sum(step["cpu_s"] for step in result["run"]["steps"].values() if not step["llm_requests"])
    return client["cpu_ms_per_request"], 1000 * without / max(1, requests(result))


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
    floor = floor_parts(result)
    if floor is not None:
        client, without = floor
        print(f"  floor: our client's transport {client:.2f} ms + the steps that send no request {without:.2f} ms = "
              f"{client + without:.2f} ms per request; the rest (templates, cache and record writes, reply checks, "
              f"reads, start) {cpu_ms_per_request(result) - client - without:.2f} ms")
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


def print_partial(result: dict[str, Any]) -> None:
    """A size stopped by --timeout: what it measured until then (the steps of the run that finished)."""
    stopped = result["timed_out"]
    print(f"\n== {result['size']:,} prompts: STOPPED: {stopped['error']} ==")
    done = result.get("run") or {"steps": stopped["steps"], "cpu_s": stopped["cpu_s"]}
    print(f"  measured until then ({'the run, then' if 'run' in result else 'the first run'}): "
          f"{done['cpu_s']:.1f} CPU-s; the steps that finished:")
    print_steps({**result, "run": done})


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
            rows_s = phases["export_rows"]["wall_s"]  # made while written: writing is what is left
            split = f" (rows {rows_s:.1f} s, writing {phases['write_rows']['wall_s'] - rows_s:.1f} s)"
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
        hot_lines = "; ".join(f"{label} {share:.0%}" for label, share in bucket.get("lines_sftgen", [])[:4])
        print(f"  {name} ({cpu:.1f} CPU-s; {bucket['thread_samples'] / max(1, bucket['samples']):.0%} of its "
              f"samples in threads): {where}\n      leaves: {leaves}"
              + (f"\n      lines: {hot_lines}" if hot_lines else ""))
    print("  the whole run's places, by estimated CPU-s (inclusive): " + "; ".join(
        f"{label} {seconds:.1f}" for label, seconds in places(result)[:15]))


def print_growth(small: dict[str, Any], large: dict[str, Any]) -> None:
    """CPU per item of each step at the largest size over the next smaller one: above 1, the step's cost per item
    grows with the store."""
    print(f"\nper-step CPU per item and per LLM request, {small['size']:,} -> {large['size']:,} prompts "
          "(x = growth; above 1.2 the step's cost per item grows with the store):")
    for name, step in large["run"]["steps"].items():
        before = small["run"]["steps"].get(name)
        if not step["items"] or not before or not before["items"]:
            continue
        per_item = (1000 * before["cpu_s"] / before["items"], 1000 * step["cpu_s"] / step["items"])
        growth = per_item[1] / per_item[0] if per_item[0] else math.inf
        per_request = ""
        if before["llm_requests"] and step["llm_requests"]:
            per_request = (f"  {1000 * before['cpu_s'] / before['llm_requests']:6.2f} -> "
                           f"{1000 * step['cpu_s'] / step['llm_requests']:6.2f} ms/req")
        flag = "  <- grows" if growth > 1.2 else ""
        print(f"  {name:<22}{per_item[0]:8.2f} -> {per_item[1]:8.2f} ms/item  x{growth:5.2f}{per_request:<30}"
              f"  items/s {before['items'] / max(1e-9, before['wall_s']):6.0f} -> "
              f"{step['items'] / max(1e-9, step['wall_s']):6.0f}  (CPU {before['cpu_s']:.1f} -> {step['cpu_s']:.1f} s)"
              f"{flag}")
