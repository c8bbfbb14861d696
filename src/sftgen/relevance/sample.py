"""A labelled sample for `sftgen calibrate`: a JSON Lines file, one text per line with its label,

    {"text": "The strong force binds quarks ...", "relevant": true}
    {"text": "Our shop opens at nine.", "relevant": false}

`relevant` takes true/false, yes/no, 1/0. A line that cannot be read is reported with its number and
skipped; a file with nothing usable, or without both labels, is refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TRUE_LABELS = {"true", "yes", "1", "relevant", "keep", "in"}
FALSE_LABELS = {"false", "no", "0", "irrelevant", "drop", "out"}


class SampleError(Exception):
    """The sample as a whole cannot be used (missing, empty, one label only)."""


@dataclass(frozen=True)
class LabelledText:
    text: str
    relevant: bool
    line: int


@dataclass
class Sample:
    texts: list[LabelledText]
    problems: list[str]
    """One line per skipped line: `file:line: what is wrong`."""


def read_sample(path: Path) -> Sample:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SampleError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SampleError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    texts, problems = [], []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            texts.append(labelled_text(line, number))
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
    if not texts:
        raise SampleError(f"{path}: no labelled text ({len(problems)} lines could not be read)"
                          + (f"; first: {problems[0]}" if problems else ""))
    labels = {t.relevant for t in texts}
    if len(labels) < 2:
        which = "relevant" if True in labels else "irrelevant"
        raise SampleError(f"{path}: every text is labelled {which}; a calibration needs examples of both")
    return Sample(texts, problems)


def labelled_text(line: str, number: int) -> LabelledText:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(entry, dict):
        raise ValueError("expected an object with 'text' and 'relevant'")
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' is missing or empty")
    return LabelledText(text, label_of(entry.get("relevant")), number)


def label_of(value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().casefold() if value is not None else ""
    if word in TRUE_LABELS:
        return True
    if word in FALSE_LABELS:
        return False
    raise ValueError(f"'relevant' is {value!r}; expected true/false, yes/no or 1/0")
