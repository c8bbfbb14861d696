"""`sftgen report DIR`: writes DIR/report/index.html and DIR/report/metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

from sftgen.project import Project
from sftgen.report.collect import ReportOptions, collect_report
from sftgen.report.html import render_report

REPORT_FOLDER = "report"


def write_report(project: Project, options: ReportOptions, embedder=None) -> Path:
    """Returns the folder written to."""
    data = collect_report(project, options, embedder)
    folder = project.dir / REPORT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(data.metrics, indent=2, ensure_ascii=False, default=str),
                                         encoding="utf-8")
    (folder / "index.html").write_text(render_report(data), encoding="utf-8")
    return folder
