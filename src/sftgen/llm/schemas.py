"""Output schemas bounded per request: a list holds exactly the number of items its template asks for.

A grammar-constrained server (llama.cpp's json_object + schema, vLLM, hosted strict JSON schema) turns
`minItems` / `maxItems` into the grammar, so a small model cannot write five queries where one was asked
and run into `max_tokens`; other servers get the bound in the schema and a re-ask when they break it.
llama-cpp-python's converter (llama_cpp/llama_grammar.py, `SchemaConverter.visit`) supports `enum`,
`const`, `minItems`/`maxItems` and `minLength`/`maxLength`, but not `minimum`/`maximum` ("TODO" there):
a bounded number must be an enum (answers/rubric.py scores 1-5 as one).

The bounded schema is a subclass of the step's schema with the same name (the title and the
`json_schema` name the server sees stay the same); it is made once per (schema, field, count)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, Field, create_model


@lru_cache(maxsize=256)
def with_exactly(schema: type[BaseModel], field: str, count: int) -> type[BaseModel]:
    """`schema` with its list `field` holding exactly `count` items."""
    if count < 1:
        raise ValueError(f"{schema.__name__}.{field}: a list of {count} items asks for nothing")
    info = schema.model_fields[field]
    (item,) = get_args(info.annotation)
    bounded: dict[str, Any] = {field: (list[item], Field(min_length=count, max_length=count,
                                                         description=info.description))}
    return create_model(schema.__name__, __base__=schema, __module__=schema.__module__, **bounded)


def clipped(max_chars: int) -> Any:
    """A string type cut to `max_chars` after parsing (at a word boundary when there is one), with no
    `maxLength` in the schema. For a short free-text field a model ends by itself (a verdict's
    explanation): llama.cpp's grammar spells `maxLength: 200` as 200 nested optional characters, which
    made the chunk filter's requests 4x slower for the same replies (bench/grammar_cost.py). Fields a
    small model rambles in (a profile's six strings) keep their `maxLength`."""

    def clip(text: str) -> str:
        text = text.strip()
        if len(text) <= max_chars:
            return text
        cut = text[: max_chars - 1]
        space = cut.rfind(" ")
        return (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,;:") + "…"

    return Annotated[str, AfterValidator(clip)]


Sentence = clipped(200)
"""A one-sentence explanation (a filter's reason), cut at 200 characters."""
