"""Where a profiled `sftgen run` spends its CPU, per step: reads a py-spy speedscope file of a run made
through bench/scale/timed_cli.py, whose `STEP_<name>` / `PHASE_<name>` frames say which step a sample
belongs to. A sample with no such frame (an event-loop callback: the HTTP client reading a reply) takes the
step of the sample before it: steps run one after another, and py-spy's samples are in time order.

    python bench/scale/profile_steps.py PROFILE.speedscope.json [--top 8] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

MARKERS = ("STEP_", "PHASE_")
SETUP = "(setup: imports, opening the project)"
FRAMEWORK = {
    "sftgen/executors/local.py:" + name for name in (
        "LocalExecutor.run", "LocalExecutor.run_step", "LocalExecutor.run_item_step", "LocalExecutor.run_pool",
        "LocalExecutor.run_pool.<locals>.work", "LocalExecutor.run_one", "LocalExecutor.run_global_step",
        "LocalExecutor.run_source_step")
} | {"sftgen/runner.py:run_project", "sftgen/cli.py:run", "sftgen/cli.py:show_status", "sftgen/cli.py:status",
     "sftgen/cli.py:export", "sftgen/cli.py:report"}
"""Frames on nearly every stack of a step: left out of its list of places."""
IDLE_LEAVES = {"selectors.py:EpollSelector.select", "concurrent/futures/thread.py:_worker",
               "threading.py:Condition.wait", "threading.py:Event.wait", "threading.py:Thread.join",
               "queue.py:Queue.get", "asyncio/selector_events.py:BaseSelectorEventLoop._write_to_self"}
"""Leaf frames of a thread that waits (py-spy counts such samples as active here): not CPU. The last is a
thread-pool worker handing its result to the event loop (one send(), then a wait for the GIL)."""
STDLIB = re.compile(r"^.*/lib/python3\.\d+/")


def frame_label(frame: dict[str, Any]) -> str:
    """`file:function`, with the file shortened to its package path (sftgen/steps/rephrase.py)."""
    file = frame.get("file") or "?"
    for anchor in ("site-packages/", "/src/"):
        if anchor in file:
            file = file.split(anchor, 1)[1]
            break
    else:
        file = STDLIB.sub("", file)
    return f"{file}:{frame['name']}"


def line_label(frame: dict[str, Any], label: str) -> str | None:
    """`file:line function` of an sftgen frame recorded with line numbers (the line the frame was on: for a
    caller, the line of its call), else None."""
    if not label.startswith("sftgen/") or not frame.get("line"):
        return None
    file, function = label.split(":", 1)
    return f"{file}:{frame['line']} {function}"


def function_of_line(line: str) -> str:
    """`file:function` of a `file:line function` label."""
    where, function = line.split(" ", 1)
    return f"{where.rsplit(':', 1)[0]}:{function}"


def main_thread(profile: dict[str, Any]) -> dict[str, Any]:
    """The thread with the most samples (the event loop's)."""
    return max(profile["profiles"], key=lambda p: len(p["samples"]))


def bucket_of(stack: list[int], names: list[str]) -> str | None:
    """The innermost marker on the stack (stacks run root first)."""
    for index in reversed(stack):
        name = names[index]
        if name.startswith(MARKERS):
            return name.split("_", 1)[1] if name.startswith("STEP_") else f"({name.split('_', 1)[1]})"
    return None


def count_stack(bucket: dict[str, Counter], stack: list[int], names: list[str], labels: list[str],
                lines: list[str | None]) -> None:
    bucket["samples"]["all"] += 1
    bucket["self"][labels[stack[-1]]] += 1
    for label in {labels[i] for i in stack if not names[i].startswith(MARKERS)}:
        bucket["inclusive"][label] += 1
    for line in {lines[i] for i in stack if lines[i] is not None}:
        bucket["lines"][line] += 1


def new_bucket() -> dict[str, Counter]:
    return {"samples": Counter(), "self": Counter(), "inclusive": Counter(), "lines": Counter()}


def summarised(bucket: dict[str, Counter], total: int, seconds_per_sample: float, top: int) -> dict[str, Any]:
    count = bucket["samples"]["all"]
    return {
        "samples": count, "thread_samples": bucket["samples"]["threads"], "share_of_run": count / max(1, total),
        "cpu_s": count * seconds_per_sample,
        "inclusive_sftgen": [(label, n / count) for label, n in bucket["inclusive"].most_common()
                             if label.startswith("sftgen/") and label not in FRAMEWORK][:top],
        "self": [(label, n / count) for label, n in bucket["self"].most_common(top)],
        "lines_sftgen": [(label, n / count) for label, n in bucket["lines"].most_common()
                         if function_of_line(label) not in FRAMEWORK][:top],
    }


def analyse(path: Path, top: int = 8) -> dict[str, Any]:
    """Per step, its samples on CPU (the main thread's and those of the work it handed to threads); other
    threads' samples (the progress display) in one bucket per thread name without its number.

    Samples count time a thread could run, not time it ran: on a machine with more runnable threads than
    cores, read a bucket's shares against the step's measured CPU (bench/scale/summary.py does)."""
    profile = json.loads(path.read_text())
    frames = profile["shared"]["frames"]
    names = [frame["name"] for frame in frames]
    labels = [frame_label(frame) for frame in frames]
    lines = [line_label(frame, label) for frame, label in zip(frames, labels)]
    thread = main_thread(profile)
    seconds_per_sample = thread["weights"][0] if thread["weights"] else 0.01
    buckets: dict[str, dict[str, Counter]] = {}
    current, idle = SETUP, 0
    for stack in thread["samples"]:
        current = bucket_of(stack, names) or current
        if not stack or labels[stack[-1]] in IDLE_LEAVES:
            idle += 1
            continue
        count_stack(buckets.setdefault(current, new_bucket()), stack, names, labels, lines)
    threads: dict[str, dict[str, Counter]] = {}
    for other in profile["profiles"]:
        if other is thread:
            continue
        group = "thread " + (re.sub(r'^Thread \d+ "?|"$', "", other["name"]).rstrip("0123456789_") or "(unnamed)")
        for stack in other["samples"]:
            if stack and labels[stack[-1]] not in IDLE_LEAVES:
                step = bucket_of(stack, names)  # work a step handed to asyncio.to_thread
                bucket = buckets.setdefault(step, new_bucket()) if step else threads.setdefault(group, new_bucket())
                count_stack(bucket, stack, names, labels, lines)
                bucket["samples"]["threads"] += bool(step)
    total = sum(b["samples"]["all"] for b in [*buckets.values(), *threads.values()])
    ordered = sorted(buckets.items(), key=lambda item: -item[1]["samples"]["all"])
    return {"profile": str(path), "samples": total, "idle_samples": idle, "seconds_per_sample": seconds_per_sample,
            "buckets": {name: summarised(b, total, seconds_per_sample, top) for name, b in ordered},
            "other_threads": {name: summarised(b, total, seconds_per_sample, top) for name, b in threads.items()}}


def print_analysis(result: dict[str, Any], top: int = 8, min_share: float = 0.005) -> None:
    print(f"profile {result['profile']}: {result['samples']} samples on CPU "
          f"({result['samples'] * result['seconds_per_sample']:.0f} s; {result['idle_samples']} of the main thread waiting)")
    for name, bucket in [*result["buckets"].items(), *result["other_threads"].items()]:
        if bucket["share_of_run"] < min_share:
            continue
        print(f"\n  {name}: {bucket['share_of_run']:.1%} of the run's samples ({bucket['cpu_s']:.1f} s)")
        print("    inclusive (sftgen frames, share of this step's samples):")
        for label, share in bucket["inclusive_sftgen"][:top]:
            print(f"      {share:6.1%}  {label}")
        print("    self (leaf frames):")
        for label, share in bucket["self"][:top]:
            print(f"      {share:6.1%}  {label}")
        if bucket.get("lines_sftgen"):
            print("    lines (sftgen file:line the samples were on, inclusive):")
            for label, share in bucket["lines_sftgen"][:top]:
                print(f"      {share:6.1%}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None, help="also write the analysis here")
    args = parser.parse_args()
    result = analyse(args.profile, args.top)
    print_analysis(result, args.top)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
