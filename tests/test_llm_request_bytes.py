"""The client writes each request's body and cache key with the schema's JSON made once per schema: the
bytes sent and the keys are exactly those of `json.dumps(body)` and `stable_hash(...)` (so caches made
before still hit)."""

from __future__ import annotations

import json
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from sftgen.llm.client import ChatClient, encode_body
from sftgen.llm.request_body import cache_key
from sftgen.llm.schemas import with_exactly
from sftgen.records import stable_hash


class Verdict(BaseModel):
    verdict: Literal["keep", "off_domain"]
    explanation: str = Field(description="One short sentence — «quoted», 中文.")


class Queries(BaseModel):
    queries: list[str]


SCHEMAS = [Verdict, Queries, with_exactly(Queries, "queries", 3), None]
texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]),
                                           "content": texts}), min_size=1, max_size=3)
params = st.fixed_dictionaries({"temperature": st.floats(0, 2, allow_nan=False), "max_tokens": st.integers(1, 9999),
                                "seed": st.none() | st.integers(-5, 10**6)})


@settings(max_examples=300, deadline=None)
@given(messages, params, st.sampled_from(SCHEMAS), st.sampled_from(["json_schema", "json_object", "instructions"]),
       st.sampled_from(["fake-model", "modèle"]), st.integers(0, 2))
def test_the_body_sent_and_the_cache_key_are_those_of_plain_json(messages, params, schema, mode, model, reask):
    client = ChatClient("http://127.0.0.1:9", model, structured_output=mode, model_identity=model + "@sha")
    body = client.request_body(messages, params, schema)
    if reask:
        body = client.varied_body(body, "not json", "the reply was cut off", reask)
    assert encode_body(body) == json.dumps(body, ensure_ascii=False).encode("utf-8")
    schema_json = schema.model_json_schema() if schema else None
    assert client.cache_key(messages, params, schema) == stable_hash(model + "@sha", messages, params, schema_json,
                                                                     mode, length=20)
    encoded: dict[int, str] = {}  # the messages' texts written once for the key and the body, as the client does
    assert cache_key(model + "@sha", messages, params, schema, mode, encoded) == client.cache_key(messages, params,
                                                                                                  schema)
    assert encode_body(body, encoded) == json.dumps(body, ensure_ascii=False).encode("utf-8")


odd_messages = st.lists(st.one_of(
    st.fixed_dictionaries({"content": texts, "role": st.sampled_from(["system", "user"])}),  # keys the other way
    st.fixed_dictionaries({"role": st.just("user"), "content": texts, "name": texts}),  # a third key
    st.fixed_dictionaries({"role": st.just("user"), "content": st.none() | st.integers()}),  # not a text
    st.fixed_dictionaries({"role": st.just("user")}),
), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(odd_messages, params, st.sampled_from(SCHEMAS))
def test_messages_of_another_shape_are_written_as_plain_json_too(messages, params, schema):
    client = ChatClient("http://127.0.0.1:9", "fake-model")
    body = {"model": "fake-model", "messages": messages, **params}
    encoded: dict[int, str] = {}
    schema_json = schema.model_json_schema() if schema else None
    assert cache_key("m", messages, params, schema, "json_schema", encoded) == stable_hash(
        "m", messages, params, schema_json, "json_schema", length=20)
    assert encode_body(body, encoded) == json.dumps(body, ensure_ascii=False).encode("utf-8")
    assert encode_body(client.varied_body(body, "bad", "cut off", 1), encoded) == json.dumps(
        client.varied_body(body, "bad", "cut off", 1), ensure_ascii=False).encode("utf-8")


values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, min_size=1, max_size=4), st.sampled_from([4, 16, 20]))
def test_stable_hash_is_the_hash_of_the_parts_json_dumps(parts, length):
    """Record ids and settings hashes of earlier stores stay the same: one encoder made once writes the
    parts as `json.dumps(..., sort_keys=True, ...)` did."""
    import hashlib

    payload = json.dumps(tuple(parts), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    assert stable_hash(*parts, length=length) == hashlib.blake2b(payload.encode("utf-8"), digest_size=length).hexdigest()
