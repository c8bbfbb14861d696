"""A reply is parsed as sent first, with one lenient decoder made once: the same values and, for a reply that
needs repair or cannot be used, the same repairs and the same error as `json.loads(..., strict=False)` over
every repair candidate in turn."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from sftgen.llm.structured import InvalidReply, candidates_in_turn, lenient_json, parse_reply


class Verdict(BaseModel):
    verdict: Literal["keep", "drop"]
    explanation: str


def parsed_the_slow_way(content: str, schema: type[BaseModel]) -> BaseModel | str:
    """What parse_reply gave before its fast path: each candidate through json.loads(strict=False)."""
    errors = []
    for candidate in candidates_in_turn(content):
        try:
            data = json.loads(candidate, strict=False)
        except json.JSONDecodeError as exc:
            errors.append(f"not JSON: {exc.msg} at char {exc.pos}")
            continue
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            errors.append("does not fit the schema: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]))
    return errors[-1] if errors else "empty reply"


PIECES = ['{', '}', '"verdict"', '"keep"', '"drop"', '"maybe"', ':', ',', '"explanation"', '"a\nb"', '```json',
          '```', ' ', '\n', 'Sure! ', '\ufeff', '[', ']', '1']


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join)
       | st.sampled_from(['{"verdict": "keep", "explanation": "ok"}', '```json\n{"verdict": "drop", "explanation": "x",}\n```',
                          '\ufeff{"verdict": "keep", "explanation": "ok"}', '{"verdict": "keep", "explanation": "cut']))
def test_a_reply_parses_to_what_json_loads_over_the_repairs_gave(content):
    expected = parsed_the_slow_way(content, Verdict)
    try:
        got: BaseModel | str = parse_reply(content, Verdict)
    except InvalidReply as exc:
        got = str(exc)
    assert got == expected


@pytest.mark.parametrize("text", ['{"a": "line\nbreak"}', '[1, 2', '', '\ufeff{}', 'nul', '{"a": NaN}', '"x"'])
def test_lenient_json_is_json_loads_with_strict_false(text):
    try:
        expected = ("ok", json.loads(text, strict=False))
    except json.JSONDecodeError as exc:
        expected = ("error", exc.msg, exc.pos)
    try:
        got = ("ok", lenient_json(text))
    except json.JSONDecodeError as exc:
        got = ("error", exc.msg, exc.pos)
    assert repr(got) == repr(expected)
