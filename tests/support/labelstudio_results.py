"""Annotations as a Label Studio user makes them (a choice, a text answer), the export options that name
each annotation's user in full, and the sftgen command line the Label Studio tests drive."""

from __future__ import annotations

from typer.testing import CliRunner

from sftgen.cli import app

EXPANDED = {"annotations__completed_by": {"only_id": False}}
"""Label Studio's export names each annotation's user in full (email), not by a bare id."""


def sftgen(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def choice(name, value, origin="manual"):
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}, "origin": origin}


def text(name, value, origin="manual"):
    return {"from_name": name, "to_name": "text", "type": "textarea", "value": {"text": [value]}, "origin": origin}
