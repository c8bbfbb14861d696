"""One explicit Arrow schema per export kind (`--what chunks|prompts|answers|sft|preferences`): the types are fixed by
the kind and the recipe's rubric, never by the data, so every jsonl, Parquet and `hf` export of a kind has
the same columns and types whether or not a row cites, scores or carries a key.

Nested things are nested types: lists of structs (citations, provenance, history, chat messages) and
structs (scores, the SFT provenance). A record's free-form `meta` is split in two:
- `meta`: a struct of the keys the record kind's contract names (docs/ARCHITECTURE.md), typed; a key a
  record lacks is null;
- `meta_extra`: a list of `{key, value}` structs for any other key (and for a known key whose value does
  not fit its type), the value as text (strings as they are, anything else as its JSON). A list of
  key/value structs rather than an Arrow map: `datasets` has no map feature, and a map reads back from
  Parquet as a list of tuples, not as the object jsonl holds, so the formats would not hold the same values.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

STRING, INT, FLOAT, BOOL = pa.string(), pa.int64(), pa.float64(), pa.bool_()


def struct(**fields: pa.DataType) -> pa.StructType:
    return pa.struct([pa.field(name, type_) for name, type_ in fields.items()])


def struct_of(fields: dict[str, pa.DataType]) -> pa.StructType:
    return pa.struct([pa.field(name, type_) for name, type_ in fields.items()])


STRINGS = pa.list_(STRING)
CITATION = struct(n=INT, url=STRING, title=STRING, passage_id=STRING)
MESSAGE = struct(role=STRING, content=STRING)
PROVENANCE_ENTRY = struct(id=STRING, kind=STRING, step=STRING, source=STRING, url=STRING, query=STRING,
                          subdomain=STRING, topic=STRING, text=STRING)
PROVENANCE_KEYS = ("source", "url", "query", "subdomain", "topic")
HISTORY_ENTRY = struct(step=STRING, outcome=STRING, reason=STRING, done_at=FLOAT)
EXTRA = pa.list_(struct(key=STRING, value=STRING))
LINEAGE_ENTRY = struct(id=STRING, kind=STRING, step=STRING)
SFT_PROVENANCE = struct(passage_ids=STRINGS, page_ids=STRINGS, query_ids=STRINGS,
                        prompt_lineage=pa.list_(LINEAGE_ENTRY))

REVIEW_META = {"edited_from": STRING, "version": INT, "original_id": STRING, "edited_by": STRING}
"""What a reviewer's edit adds to the new version's meta (decisions/log.py)."""

CHUNK_META = {
    "document_id": STRING, "source": STRING, "title": STRING, "index": INT, "start": INT, "end": INT,
    "heading_path": STRINGS, "url": STRING,
}
PROMPT_META = {
    "subdomain": STRING, "topic": STRING, "use_case": STRING, "task_type": STRING, "difficulty": STRING,
    "persona": STRING, "profile_id": STRING, "chunk_id": STRING, "document_id": STRING, "variant_of": STRING,
    "rephrased_from": STRING, "original_opener": STRING, "duplicate_of": STRING, "similarity": FLOAT,
    "dedup_method": STRING, **REVIEW_META,
}


def scores_type(dimensions: Sequence[str]) -> pa.StructType:
    """The LLM judge's `{dimension: {score, why}}`, one field per rubric dimension (null when not scored)."""
    return struct_of({name: struct(score=INT, why=STRING) for name in dimensions})


def expert_scores_type(dimensions: Sequence[str]) -> pa.StructType:
    return struct_of({name: INT for name in dimensions})


def answer_meta(dimensions: Sequence[str]) -> dict[str, pa.DataType]:
    return {
        "prompt_id": STRING, "rag": BOOL, "subdomain": STRING, "citations": pa.list_(CITATION),
        "invalid_citations": pa.list_(INT), "uncited": BOOL, "passage_ids": STRINGS,
        "scores": scores_type(dimensions), "score_mean": FLOAT, "needs_review": BOOL,
        "expert_scores": expert_scores_type(dimensions), **REVIEW_META,
    }


def meta_fields(kind: str, dimensions: Sequence[str]) -> dict[str, pa.DataType]:
    return {"chunk": CHUNK_META, "prompt": PROMPT_META}.get(kind) or answer_meta(dimensions)


def record_schema(kind: str, dimensions: Sequence[str]) -> pa.Schema:
    """`--what chunks|prompts|answers`: one kept record a row, with its provenance and step history."""
    return pa.schema([
        ("id", STRING), ("kind", STRING), ("made_by", STRING), ("text", STRING),
        ("meta", struct_of(meta_fields(kind, dimensions))), ("meta_extra", EXTRA),
        ("parent_ids", STRINGS), ("provenance", pa.list_(PROVENANCE_ENTRY)), ("history", pa.list_(HISTORY_ENTRY)),
    ])


def sft_schema(dimensions: Sequence[str], candidates: bool = False) -> pa.Schema:
    """`--what sft`: one kept prompt-answer pair a row, as chat messages. With answer candidates (recipe
    `answers.candidates` 2+) each row also says which candidate it is and whether it is the chosen one."""
    return pa.schema([
        ("id", STRING), ("messages", pa.list_(MESSAGE)), ("prompt_id", STRING), ("answer_id", STRING),
        ("subdomain", STRING), ("rag", BOOL), ("citations", pa.list_(CITATION)),
        ("scores", scores_type(dimensions)), ("score_mean", FLOAT), ("needs_review", BOOL),
        *([("candidate_index", pa.int64()), ("chosen", BOOL)] if candidates else []),
        ("provenance", SFT_PROVENANCE),
    ])


PREFERENCE_SOURCES = ("expert_edit", "expert_pick", "expert_reject", "judge")
"""Where a preference pair comes from (export/preferences.py's `PreferenceSource`): a reviewer's edit over the
text edited, a reviewer's pick among a prompt's candidates over each other one, an accepted answer over a
reviewer-rejected answer of the same prompt, the judge's pairwise winner over the loser."""


def preference_schema() -> pa.Schema:
    """`--what preferences`: one pair a row in TRL's conversational preference form (`prompt`: the system and
    user messages; `chosen` / `rejected`: one assistant message each), with where the preference came from
    (`source`, one of PREFERENCE_SOURCES), the records it was made of, who decided (null for the judge), why
    (a rejection's or the judge's reason) and the judge's mean scores of both answers where it scored them."""
    return pa.schema([
        ("id", STRING), ("prompt", pa.list_(MESSAGE)), ("chosen", pa.list_(MESSAGE)), ("rejected", pa.list_(MESSAGE)),
        ("source", STRING), ("prompt_id", STRING), ("chosen_id", STRING), ("rejected_id", STRING),
        ("reviewer", STRING), ("reason", STRING), ("chosen_score", FLOAT), ("rejected_score", FLOAT),
        ("subdomain", STRING),
    ])
