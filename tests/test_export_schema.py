"""Every export kind has one Arrow schema, whatever the data: random mixes of rows with and without
citations, empty and full lists, missing keys, None, misfitting values and unicode all give the same types,
and jsonl, Parquet and `hf` hold the same rows; nothing in a record's meta is lost (a key outside the
contract, or a value that does not fit its type, is in `meta_extra`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sftgen.export.conform import DoesNotFit, as_text, conform, conform_row
from sftgen.export.rows import LEFT_OUT_META, RowDoesNotFit, export_schema, record_row
from sftgen.export.schema import meta_fields
from sftgen.export.sft import sft_row
from sftgen.export.writers import write_rows
from sftgen.records import Record

RUBRIC = ["style", "domain", "groundedness"]
KINDS = {"chunks": "chunk", "prompts": "prompt", "answers": "answer"}

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)  # any unicode but surrogates
maybe_text = st.none() | text
scalar = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | text
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                          max_leaves=6)


def optional_dict(fields: dict) -> st.SearchStrategy:
    """An object with any subset of the fields, each of its type or None."""
    return st.fixed_dictionaries({}, optional={key: st.none() | value for key, value in fields.items()})


citation = optional_dict({"n": st.integers(1, 9), "url": text, "title": text, "passage_id": text})
scores = st.dictionaries(st.sampled_from(RUBRIC), optional_dict({"score": st.integers(1, 5), "why": text}), max_size=3)
fitting = {
    "string": maybe_text, "int": st.integers(-10**9, 10**9), "float": st.floats(-1e6, 1e6),
    "bool": st.booleans(), "strings": st.lists(text, max_size=3),
}


def fitting_value(type_: pa.DataType) -> st.SearchStrategy:
    if pa.types.is_string(type_):
        return fitting["string"]
    if pa.types.is_boolean(type_):
        return fitting["bool"]
    if pa.types.is_integer(type_):
        return fitting["int"]
    if pa.types.is_floating(type_):
        return fitting["float"]
    if pa.types.is_list(type_) and pa.types.is_struct(type_.value_type):
        return st.lists(citation, max_size=3)
    if pa.types.is_list(type_):
        return st.lists(fitting_value(type_.value_type), max_size=3)
    if pa.types.is_struct(type_) and type_.num_fields and pa.types.is_struct(type_.field(0).type):
        return scores
    return st.dictionaries(st.sampled_from(RUBRIC), st.integers(1, 5), max_size=3)  # expert_scores


@st.composite
def meta_of(draw, kind: str) -> dict:
    """A meta dict: some of the kind's keys (fitting, None, or a value of the wrong shape), unknown keys too."""
    meta = {}
    for key, type_ in meta_fields(kind, RUBRIC).items():
        choice = draw(st.sampled_from(["absent", "fits", "fits", "none", "misfit"]))
        if choice == "fits":
            meta[key] = draw(fitting_value(type_))
        elif choice == "none":
            meta[key] = None
        elif choice == "misfit":
            meta[key] = draw(json_value)
    known = set(meta_fields(kind, RUBRIC))
    meta.update(draw(st.dictionaries(text.filter(lambda k: k not in known), json_value, max_size=3)))
    return meta


@st.composite
def records_of(draw, kind: str) -> Record:
    return Record(kind=kind, text=draw(text), meta=draw(meta_of(kind)), parent_ids=draw(st.lists(text, max_size=2)),
                  origin=draw(text), step=draw(text))


provenance_entry = optional_dict({"id": text, "kind": text, "step": text, "source": text, "url": text,
                                  "query": text, "subdomain": text, "topic": text, "text": text})
history_entry = optional_dict({"step": text, "outcome": text, "reason": text, "done_at": st.floats(0, 2e9)})


def written_and_read(rows: list[dict], schema: pa.Schema, formats=("jsonl", "parquet")) -> dict[str, list[dict]]:
    read = {}
    with tempfile.TemporaryDirectory() as folder:
        for fmt in formats:
            out = Path(folder) / f"export.{fmt}"
            assert write_rows(rows, fmt, out, schema) == len(rows)
            if fmt == "jsonl":
                read[fmt] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            elif fmt == "parquet":
                table = pq.read_table(out)
                assert table.schema.remove_metadata() == schema
                read[fmt] = table.to_pylist()
            else:
                import datasets

                loaded = datasets.load_from_disk(str(out))
                assert loaded.data.schema.remove_metadata() == schema
                read[fmt] = loaded.to_list()
    return read


@pytest.mark.parametrize("what", list(KINDS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_record_exports_have_one_schema_and_every_format_holds_the_same_rows(what, data):
    kind = KINDS[what]
    schema = export_schema(what)
    records = data.draw(st.lists(records_of(kind), max_size=4))
    fields = meta_fields(kind, RUBRIC)
    rows = [
        conform_row(record_row(record, fields, data.draw(st.lists(provenance_entry, max_size=2)),
                               data.draw(st.lists(history_entry, max_size=2))), schema, record.id)
        for record in records
    ]
    assert pa.Table.from_pylist(rows, schema=schema).schema == schema
    for fmt, read in written_and_read(rows, schema).items():
        assert read == rows, fmt
    for record, row in zip(records, rows):
        assert_nothing_lost(record.meta, row, fields)


def assert_nothing_lost(meta: dict, row: dict, fields: dict) -> None:
    extra = {entry["key"]: entry["value"] for entry in row["meta_extra"]}
    for key, value in meta.items():
        if key in LEFT_OUT_META:
            continue
        if key in extra:
            assert extra[key] == as_text(value)
        else:
            assert key in fields and row["meta"][key] == conform(value, fields[key])
    assert set(row["meta"]) == set(fields)  # every known key is a column, null when the record lacks it


@st.composite
def sft_pairs(draw):
    prompt = Record(kind="prompt", text=draw(text), meta={"subdomain": draw(maybe_text)})
    answer_meta = draw(st.fixed_dictionaries({}, optional={
        "rag": st.booleans(), "citations": st.none() | st.lists(citation, max_size=3), "scores": st.none() | scores,
        "score_mean": st.none() | st.floats(1, 5) | st.integers(1, 5), "needs_review": st.booleans(),
    }))
    answer = Record(kind="answer", text=draw(text), meta=answer_meta, parent_ids=[prompt.id])
    provenance = draw(st.fixed_dictionaries({
        "passage_ids": st.lists(text, max_size=3), "page_ids": st.lists(text, max_size=2),
        "query_ids": st.lists(text, max_size=2),
        "prompt_lineage": st.lists(optional_dict({"id": text, "kind": text, "step": text}), max_size=3),
    }))
    return prompt, answer, draw(maybe_text), provenance


@settings(max_examples=80, deadline=None)
@given(pairs=st.lists(sft_pairs(), max_size=5))
def test_sft_rows_have_one_schema_whether_or_not_they_cite_or_are_scored(pairs):
    schema = export_schema("sft")
    rows = [conform_row(sft_row(*pair), schema, pair[1].id) for pair in pairs]
    for fmt, read in written_and_read(rows, schema).items():
        assert read == rows, fmt
    for row in rows:
        assert isinstance(row["citations"], list) and set(row["scores"] or {}) in (set(), set(RUBRIC))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(sft_pairs(), max_size=4), records=st.lists(records_of("answer"), max_size=3))
def test_the_hf_folder_holds_the_same_rows_as_jsonl(pairs, records):
    pytest.importorskip("datasets")
    sft = export_schema("sft")
    rows = [conform_row(sft_row(*pair), sft, pair[1].id) for pair in pairs]
    read = written_and_read(rows, sft, formats=("jsonl", "hf"))
    assert read["hf"] == read["jsonl"] == rows
    answers = export_schema("answers")
    fields = meta_fields("answer", RUBRIC)
    rows = [conform_row(record_row(record, fields, [], []), answers, record.id) for record in records]
    read = written_and_read(rows, answers, formats=("jsonl", "hf"))
    assert read["hf"] == read["jsonl"] == rows


@settings(max_examples=30, deadline=None)
@given(pairs=st.lists(sft_pairs(), max_size=12), slice_rows=st.integers(1, 4), group_rows=st.integers(1, 6))
def test_parquet_row_groups_hold_group_rows_each_however_the_rows_are_sliced(pairs, slice_rows, group_rows):
    import sftgen.export.writers as writers

    schema = export_schema("sft")
    rows = [conform_row(sft_row(*pair), schema, pair[1].id) for pair in pairs]
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        patch.setattr(writers, "ARROW_ROWS", slice_rows)
        patch.setattr(writers, "PARQUET_ROWS", group_rows)
        out = Path(tmp) / "sft.parquet"
        assert write_rows(rows, "parquet", out, schema) == len(rows)
        metadata = pq.ParquetFile(out).metadata
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        assert pq.read_table(out).to_pylist() == rows
    full, last = divmod(len(rows), group_rows)
    if rows:
        assert sizes == [group_rows] * full + ([last] if last else [])


def test_an_answer_scored_under_another_rubric_names_the_row_and_the_field():
    schema = export_schema("sft")
    prompt = Record(kind="prompt", text="Why?")
    answer = Record(kind="answer", text="Because.", meta={"scores": {"tone": {"score": 3, "why": "ok"}}})
    with pytest.raises(DoesNotFit, match=r"sft row x: scores: unexpected key 'tone'"):
        conform_row(sft_row(prompt, answer, None, {}), schema, "sft row x")
    assert issubclass(RowDoesNotFit, Exception)


def test_the_cli_names_the_row_and_field_that_do_not_fit(tmp_path):
    from typer.testing import CliRunner

    from sftgen.cli import app
    from tests.support.review_project import make_review_project, seed_answer, seed_prompts

    rubric = [{"name": "clarity", "description": "easy to follow"}]
    root = make_review_project(tmp_path / "p", rubric=rubric)  # the answer below was scored under another rubric
    prompt = seed_prompts(root)[0]
    answer = seed_answer(root, prompt, "Six flavours [1].", {"style": 4})
    result = CliRunner().invoke(app, ["export", str(root), "--what", "sft", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"sft row {answer.id}: scores: unexpected key 'style'" in said and "sftgen run" in said
    assert not (tmp_path / "x.jsonl").exists()
