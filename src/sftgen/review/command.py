"""`sftgen review DIR`: serve the review page, or --export / --import annotation files."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from sftgen.cli_messages import error, plain
from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.review.queue import ReviewQueue
from sftgen.review.security import UnsafeBinding, check_binding
from sftgen.review.server import access_token, serve

BAD_INPUT = 2


def review_command(
    console: Console, project: Project, host: str, port: int, token: str | None,
    export: tuple[str, Path] | None, import_file: Path | None, allowed_hosts: tuple[str, ...] = (),
) -> int:
    if export or import_file:
        return interchange(console, project, export, import_file)
    token = access_token(project, token)
    try:
        check_binding(host, token)
        plain(console, f"review server on http://{host}:{port}/" + ("  (token required)" if token else ""))
        serve(project, host, port, token, allowed_hosts)
    except UnsafeBinding as exc:
        error(console, exc)
        return BAD_INPUT
    return 0


def interchange(console: Console, project: Project, export: tuple[str, Path] | None, import_file: Path | None) -> int:
    from sftgen.review.interchange.exchange import FORMATS, InterchangeError, read_import, write_export

    store = project.store()
    try:
        queue = ReviewQueue(store, standard_pipeline(project.recipe), project.recipe)
        if export:
            fmt, out = export
            if fmt not in FORMATS:
                error(console, f"--export {fmt}: expected one of {', '.join(FORMATS)}")
                return BAD_INPUT
            count = write_export(queue, fmt, out)
            plain(console, f"wrote {count} items to {out} ({fmt}); tool settings next to it")
        if import_file:
            report = read_import(queue, import_file)
            plain(console, f"{import_file}: {report.recorded} decisions recorded, {report.already_imported} "
                           "imported before")
            for record_id in report.unknown_ids:
                console.print(f"[yellow]unknown id[/yellow] {escape(str(record_id))}: not in this project's store, "
                              "skipped", highlight=False, soft_wrap=True)
            for problem in report.problems:
                console.print(f"[yellow]skipped[/yellow] {escape(str(problem))}", highlight=False, soft_wrap=True)
            for note in report.notes:
                console.print(f"note: {escape(str(note))}", highlight=False, soft_wrap=True)
            if report.unknown_ids or report.problems:
                return BAD_INPUT
    except InterchangeError as exc:
        error(console, exc)
        return BAD_INPUT
    finally:
        store.close()
    return 0
