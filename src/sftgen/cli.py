"""The `sftgen` command line: init, validate, run, status, gc, export, finetune, report, review.

Each command imports what it uses when it runs: `sftgen --help` loads typer and rich only, and `status`
never loads the steps' machine-learning stack (bench/cli_startup.py prints the start-up times).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from sftgen.cli_messages import error, note, plain

if TYPE_CHECKING:
    from sftgen.project import Project

app = typer.Typer(help="Turn a folder of domain documents into a supervised fine-tuning dataset.",
                  no_args_is_help=True, add_completion=False)
console = Console()
EXAMPLE = Path(__file__).parent / "examples" / "quarks"
BAD_INPUT = 2
INTERRUPTED = 130
EXPORT_CHOICES = ("chunks", "prompts", "answers", "sft", "preferences")  # sftgen.export.rows, without importing it
FORMAT_CHOICES = ("jsonl", "parquet", "hf")  # sftgen.export.writers.FORMATS


def open_project(directory: Path) -> Project:
    from sftgen.project import Project, ProjectError
    from sftgen.recipe import RecipeError

    try:
        return Project.open(directory)
    except (ProjectError, RecipeError) as exc:
        error(console, exc)
        raise typer.Exit(BAD_INPUT) from exc


def refuse(message: object) -> typer.Exit:
    error(console, message)
    return typer.Exit(BAD_INPUT)


@app.command()
def init(directory: Path = typer.Argument(..., help="The project folder to create.")) -> None:
    """Write a commented recipe.yaml and an example docs/ folder, ready for `sftgen run`."""
    recipe = directory / "recipe.yaml"
    if recipe.exists():
        raise refuse(f"{recipe} exists already; not overwriting it")
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE / "recipe.yaml", recipe)
    docs = directory / "docs"
    if not docs.exists():
        shutil.copytree(EXAMPLE / "docs", docs)
    corpus = directory / "corpus"  # the local search corpus of the example's web research
    if not corpus.exists():
        shutil.copytree(EXAMPLE / "corpus", corpus)
    plain(console, f"Project ready in {directory}: edit recipe.yaml, put documents in docs/, then "
                   f"`sftgen run {directory}`.")


@app.command()
def validate(
    directory: Path,
    skip_llm: bool = typer.Option(False, "--skip-llm", help="Do not check that the LLM answers."),
) -> None:
    """Check the recipe, the sources and that the LLM answers."""
    from sftgen.validation import validate_project

    project = open_project(directory)
    problems = validate_project(project, check_llm=not skip_llm, say=lambda text: plain(console, text))
    if problems:
        for problem in problems:
            error(console, problem)
        raise typer.Exit(BAD_INPUT)
    console.print("[green]ok[/green]: recipe, sources" + ("" if skip_llm else " and LLM") + " are usable")


@app.command()
def run(
    directory: Path,
    until: Optional[str] = typer.Option(None, help="Stop after this step."),
    limit: Optional[int] = typer.Option(None, min=1, help="Process at most N pending inputs per step."),
    retry_errors: bool = typer.Option(True, help="Process again the inputs that failed in an earlier run."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Estimate requests, tokens, cost and time per step "
                                 "from a preview of a few inputs per step; commit nothing."),
    sample: int = typer.Option(32, min=1, help="With --dry-run: inputs previewed per step (an LLM step sends "
                               "about that many requests)."),
    as_json: bool = typer.Option(False, "--json", help="With --dry-run: the estimate as one JSON object."),
    executor: str = typer.Option("local", help="local (one asyncio loop) or ray (LLM steps on a Ray cluster)."),
    address: Optional[str] = typer.Option(None, help="With --executor ray: the cluster's address "
                                          "(host:port); default: start Ray on this machine."),
) -> None:
    """Run the pipeline, or resume it where it stopped."""
    import asyncio
    import signal

    from sftgen.cli_progress import RichProgress
    from sftgen.failures import RunStopped
    from sftgen.core.graph import UnknownStep
    from sftgen.run.runner import RunOptions, UnknownExecutor, run_project
    from sftgen.samples_view import print_samples

    project = open_project(directory)
    missing = project.missing_sources()
    if missing:
        for problem in missing:
            error(console, problem)
        raise typer.Exit(BAD_INPUT)
    if as_json and not dry_run:
        raise refuse("--json goes with --dry-run (a run's funnel as JSON: `sftgen status --json`)")
    # SIGTERM stops a run like Ctrl-C: the batch in flight is committed, the embedded server stopped, and
    # a dry run's scratch copy of the store removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if dry_run:
            from sftgen.estimate_view import dry_run as estimate

            estimate(project, until, sample, console, as_json=as_json)
            return
        with RichProgress(console) as progress:
            options = RunOptions(until, limit, retry_errors, executor=executor, address=address)
            summary = asyncio.run(run_project(project, options, progress))
    except (UnknownStep, UnknownExecutor) as exc:
        raise refuse(exc) from exc
    except RunStopped as exc:
        error(console, exc.message)
        raise typer.Exit(exc.exit_code) from exc
    except KeyboardInterrupt as exc:
        if not dry_run:
            raise
        error(console, "dry run interrupted: nothing was written to the project, its scratch copy is removed")
        raise typer.Exit(INTERRUPTED) from exc
    if summary.stopped_by:
        note(console, "stopped", f"{summary.stopped_by}. `sftgen run` resumes from here.")
    show_status(project, as_json=False)
    print_samples(console, project, directory)
    if failure := summary.failure_line():
        error(console, failure)
        raise typer.Exit(1)


@app.command()
def status(directory: Path, as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Print the funnel: per step, items in, kept, dropped by reason, errors, requests, cache hits, tokens."""
    from sftgen.failures import RunStopped

    project = open_project(directory)
    try:
        show_status(project, as_json)
    except RunStopped as exc:  # e.g. a new store that a full disk cannot hold
        error(console, exc.message)
        raise typer.Exit(exc.exit_code) from exc


def show_status(project: Project, as_json: bool) -> None:
    from sftgen.status_data import project_status

    status = project_status(project)
    if as_json:
        import json

        typer.echo(json.dumps(status, indent=2))
    else:
        from sftgen.status_view import print_funnel, print_judge, print_quotas, print_review

        print_funnel(console, status["steps"], status["records"], status["recent_errors"])
        print_quotas(console, status["quotas"])
        print_review(console, status["review"])
        print_judge(console, status["judge"])


@app.command()
def gc(
    directory: Path,
    apply: bool = typer.Option(False, "--apply", help="Delete and compact the store; without it, only say what would go."),
) -> None:
    """Drop LLM cache rows and fetched pages and passages that no live record needs (dry unless --apply).
    What an unchanged run, status, exports and review read is kept."""
    from sftgen.failures import RunStopped
    from sftgen.dedup.index import halve_vectors
    from sftgen.store.gc import collect

    project = open_project(directory)
    store = project.store()
    try:
        done = collect(store.db, apply)
        if apply:  # the dedup index's embeddings as today's (float16)
            halve_vectors(project.state_dir / "dedup")
    except RunStopped as exc:  # a full disk: VACUUM needs room for a copy of the store
        error(console, exc.message)
        raise typer.Exit(exc.exit_code) from exc
    finally:
        store.close()
    garbage = done.garbage
    found = (f"{len(garbage.cache_keys):,} LLM cache rows ({megabytes(garbage.cache_bytes)}) and "
             f"{len(garbage.record_ids):,} withdrawn query, page, passage and answer records "
             f"({megabytes(garbage.record_bytes)}) that no live record needs")
    if garbage.cache_note:
        note(console, "kept", garbage.cache_note)
    if done.applied:
        plain(console, f"Dropped {found}; the store went from {megabytes(done.file_bytes_before)} to "
                       f"{megabytes(done.file_bytes_after)} (freed {megabytes(done.freed_bytes)}).")
    else:
        plain(console, f"Would drop {found}, of a store of {megabytes(done.file_bytes_before)}. "
                       "`sftgen gc --apply` drops them and compacts the store.")


def megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if abs(n) >= 100_000 else f"{n / 1e3:,.1f} kB"


@app.command()
def export(
    directory: Path,
    out: Path = typer.Option(..., "--out", help="The file (jsonl, parquet) or folder (hf) to write."),
    what: Optional[str] = typer.Option(None, help=f"One of: {', '.join(EXPORT_CHOICES)}. Default: the furthest."),
    fmt: str = typer.Option("jsonl", "--format", help=f"One of: {', '.join(FORMAT_CHOICES)}."),
    card: Optional[bool] = typer.Option(None, "--card/--no-card", help="Write a dataset card (README.md): "
                                        "default on for hf (in the folder), off for jsonl/parquet (<out>.README.md)."),
    card_license: Optional[str] = typer.Option(None, "--license", help="The dataset card's license (a Hub license "
                                          "id such as cc-by-4.0, or any name); default: the recipe's, else unknown."),
    all_candidates: bool = typer.Option(False, "--all-candidates", help="--what sft: every kept candidate answer "
                                        "of a prompt (answers.candidates 2+), not only the chosen one."),
) -> None:
    """Write the kept records of a kind, with their provenance (atomically: a killed export leaves the
    earlier file as it was)."""
    if what is not None and what not in EXPORT_CHOICES:
        raise refuse(f"--what {what}: expected one of {', '.join(EXPORT_CHOICES)}")
    if fmt not in FORMAT_CHOICES:
        raise refuse(f"--format {fmt}: expected one of {', '.join(FORMAT_CHOICES)}")
    from sftgen.export.errors import ExportError
    from sftgen.export.rows import export_rows, export_schema, furthest_export
    from sftgen.export.writers import write_rows
    from sftgen.failures import RunStopped
    from sftgen.pipeline import standard_pipeline
    from sftgen.review.queue import decisions_waiting_for_run

    project = open_project(directory)
    pipeline = standard_pipeline(project.recipe)
    try:
        store = project.store()
    except RunStopped as exc:
        error(console, exc.message)
        raise typer.Exit(exc.exit_code) from exc
    try:
        what = what or furthest_export(store, pipeline)
        if all_candidates and what != "sft":
            raise refuse(f"--all-candidates is an option of --what sft, not of --what {what}")
        with_card = card if card is not None else fmt == "hf"
        rows = export_rows(store, pipeline, what, project.recipe, all_candidates=all_candidates)
        if with_card:  # the card reads the rows again (its prompt metrics); without one they stream
            rows = list(rows)
        count = write_rows(rows, fmt, out, export_schema(what, project.recipe))
        if with_card:
            from sftgen.report.card import write_card

            path = write_card(out, fmt, project.dir, project.recipe, store, rows, what, license=card_license)
            plain(console, f"dataset card: {path}")
        waiting = decisions_waiting_for_run(store, pipeline, project.recipe)
    except ExportError as exc:  # NothingToExport and a row that does not fit are ExportErrors too
        raise refuse(exc) from exc
    finally:
        store.close()
    plain(console, f"wrote {count} {what} to {out} ({fmt})")
    if waiting:
        note(console, "note", f"{waiting} review decisions are not in this export yet; `sftgen run` applies them "
                              "(and answers edited prompts)")


@app.command()
def finetune(
    directory: Path,
    out: Path = typer.Option(..., "--out", help="The folder to write train.py, config.yaml and data/ into."),
    base_model: Optional[str] = typer.Option(None, help="A Hub model name or a local model folder; default: "
                                             "HuggingFaceTB/SmolLM2-135M-Instruct."),
    method: str = typer.Option("sft", help="sft, dpo (on the preference pairs) or sft+dpo."),
    lora: bool = typer.Option(True, "--lora/--no-lora", help="Train a LoRA adapter (peft), or the whole model."),
    eval_share: float = typer.Option(0.1, help="Share of prompts held out for evaluation (split by prompt)."),
    seed: int = typer.Option(0, help="Seed of the split and of training."),
    run_it: bool = typer.Option(False, "--run", help="Start the script now (needs torch and a GPU)."),
    python: Optional[Path] = typer.Option(None, help="With --run: the Python to run it with; default: this one."),
) -> None:
    """Write a ready-to-run TRL training script and its config over the project's exports (a hand-off: plain
    TRL, yours to read and edit)."""
    from sftgen.finetune.command import finetune_command
    from sftgen.finetune.handoff import DEFAULT_BASE_MODEL, FinetuneOptions

    options = FinetuneOptions(out, base_model or DEFAULT_BASE_MODEL, method, lora, eval_share, seed)
    code = finetune_command(console, open_project(directory), options, run=run_it, python=python)
    if code:
        raise typer.Exit(code)


@app.command()
def calibrate(
    directory: Path,
    sample: Path = typer.Argument(..., help="JSON Lines of labelled texts: {\"text\": ..., \"relevant\": true|false}."),
    score: Optional[str] = typer.Option(None, help="examples (centroids of the sample; it must be inside the "
                                        "project), probe (a logistic regression on the sample; inside the project "
                                        "too) or descriptions (the recipe's). Default: examples when it is inside."),
    embedder: str = typer.Option("static", help="static (the run's embedder) or minilm (the full MiniLM: slower, "
                                 "better on noisy text)."),
    purity: float = typer.Option(0.95, min=0.5, max=1.0, help="Precision the score must reach outside the band."),
    llm: bool = typer.Option(True, "--llm/--no-llm", help="Ask the project's chunk filter about the texts in the band."),
) -> None:
    """Fit the chunk filter's relevance band on a labelled sample; print precision, recall and F1 with and
    without the LLM, and the recipe lines to use it."""
    import asyncio

    from sftgen.calibrate import calibrate_project, chunk_filter_judge, report_lines
    from sftgen.embed import EmbedderUnavailable, load_embedder
    from sftgen.failures import RunStopped
    from sftgen.relevance.sample import SampleError

    if score not in (None, "examples", "probe", "descriptions"):
        raise refuse(f"--score {score}: expected examples, probe or descriptions")
    if embedder not in ("static", "minilm"):
        raise refuse(f"--embedder {embedder}: expected static or minilm")
    project = open_project(directory)

    def encoder():
        if embedder == "minilm":
            from sftgen.embed.minilm import MiniLMEncoder

            return MiniLMEncoder()
        return load_embedder()

    async def go():
        options = {"score_kind": score, "purity": purity, "embedder_name": embedder}
        if not llm:
            return await calibrate_project(project, sample, encoder(), **options)
        async with chunk_filter_judge(project) as judge:
            return await calibrate_project(project, sample, encoder(), llm_judge=judge, **options)

    try:
        result = asyncio.run(go())
    except (SampleError, ValueError) as exc:
        raise refuse(exc) from exc
    except EmbedderUnavailable as exc:
        error(console, f"calibrate needs the embedder: {exc}")
        raise typer.Exit(1) from exc
    except RunStopped as exc:
        error(console, exc.message)
        raise typer.Exit(exc.exit_code) from exc
    for line in report_lines(result):
        plain(console, line)


@app.command()
def report(
    directory: Path,
    reference: Optional[Path] = typer.Option(None, help="JSONL of human-written prompts to compare with."),
    sample: int = typer.Option(2000, min=10, help="Most texts per set the diversity metrics are computed on."),
    copy_threshold: float = typer.Option(0.1, help="Cosine distance under which a prompt counts as a near copy "
                                         "of a reference prompt."),
) -> None:
    """Write DIR/report/index.html (self-contained) and DIR/report/metrics.json."""
    from sftgen.report.collect import ReportOptions
    from sftgen.report.command import write_report
    from sftgen.report.reference import ReferenceError

    project = open_project(directory)
    try:
        folder = write_report(project, ReportOptions(reference, sample, copy_threshold))
    except ReferenceError as exc:
        raise refuse(f"--reference {exc}") from exc
    plain(console, f"wrote {folder / 'index.html'} and {folder / 'metrics.json'}")
    import json

    from sftgen.report.candidates import summary_lines

    for line in summary_lines(json.loads((folder / "metrics.json").read_text(encoding="utf-8"))["candidates"]):
        plain(console, line)


@app.command()
def review(
    directory: Path,
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs an access token."),
    port: int = typer.Option(8765, help="Port to serve on."),
    token: Optional[str] = typer.Option(None, help="Access token (else SFTGEN_REVIEW_TOKEN, else review.token)."),
    export_to: Optional[tuple[str, Path]] = typer.Option(
        None, "--export", help="FORMAT FILE: write Label Studio (labelstudio) or Argilla (argilla) tasks."
    ),
    import_from: Optional[Path] = typer.Option(None, "--import", help="Read a Label Studio or Argilla export back."),
    allowed_host: list[str] = typer.Option(
        [], "--allowed-host", metavar="NAME",
        help="A host name browsers may use to reach the server, besides loopback and --host (repeatable)."),
) -> None:
    """Serve the review page for experts, or exchange annotations with Label Studio / Argilla."""
    from sftgen.review.command import review_command

    export_spec = export_to if export_to and export_to[0] else None
    code = review_command(console, open_project(directory), host, port, token, export_spec, import_from,
                          allowed_hosts=tuple(allowed_host))
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":
    app()
