"""Run with the Python of the `argilla` test venv (tests/support/tool_venvs.py), never sftgen's:

    python argilla_sdk.py SETTINGS RECORDS PLAN OUT_DIR

Loads sftgen's settings file with `rg.Settings.from_json`, every record with `rg.Record.from_dict` (and
builds the server payload of each with the SDK's `api_model()`, which checks its suggestions against the
questions), adds the responses the PLAN lists ({record id: [[question, value, user id, status], ...]})
as `rg.Response`s, and writes them as the SDK exports them:
- OUT_DIR/nested.json: `JsonIO.to_json`, what `dataset.records.to_json(path)` writes;
- OUT_DIR/flat.json: `GenericIO.to_list(flatten=True)`, what `dataset.records.to_list(flatten=True)` gives;
- OUT_DIR/flat.jsonl: `HFDatasetsIO.to_datasets(...)`, what `dataset.records.to_datasets()` gives, saved
  with `datasets.Dataset.to_json`.
`dataset.records` would fetch the records from a server first; offline, the same SDK functions are called
on the records in hand. Prints a JSON summary of what the SDK loaded.

Offline: the SDK's classes want a default client, and `rg.Argilla()` checks its server at once; the client
here is the SDK's own class and API object, made without that check, and nothing calls it.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import argilla as rg
from argilla._api import create_http_client
from argilla._api._client import ArgillaAPI
from argilla.records._io._datasets import HFDatasetsIO
from argilla.records._io._generic import GenericIO
from argilla.records._io._json import JsonIO


def offline_client() -> rg.Argilla:
    client = rg.Argilla.__new__(rg.Argilla)
    client.api_url, client.api_key = "http://127.0.0.1:9", "offline"  # never connected to
    client.http_client = create_http_client(api_url=client.api_url, api_key=client.api_key, timeout=1, retries=0)
    client.api = ArgillaAPI(client.http_client)
    rg.Argilla._set_default(client)
    return client


def main(settings_path: str, records_path: str, plan_path: str, out_dir: str) -> None:
    client = offline_client()
    settings = rg.Settings.from_json(settings_path)
    dataset = rg.Dataset(name="sftgen-review", settings=settings, client=client)
    records = [rg.Record.from_dict(data, dataset=dataset) for data in json.loads(Path(records_path).read_text())]
    payloads = [record.api_model() for record in records]
    declared = {prop.name for prop in settings.metadata}
    plan = json.loads(Path(plan_path).read_text())
    by_id = {str(record.id): record for record in records}
    for record_id, responses in plan.items():
        for question, value, user, status in responses:
            by_id[record_id].responses.add(rg.Response(question, value, user_id=uuid.UUID(user), status=status))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("nested.json", "flat.json", "flat.jsonl"):
        (out / name).unlink(missing_ok=True)
    JsonIO.to_json(records, out / "nested.json")
    (out / "flat.json").write_text(json.dumps(GenericIO.to_list(records, flatten=True), default=str))
    HFDatasetsIO.to_datasets(records, dataset).to_json(str(out / "flat.jsonl"))
    print(json.dumps({
        "version": rg.__version__,
        "fields": [field.name for field in settings.fields],
        "questions": {question.name: type(question).__name__ for question in settings.questions},
        "metadata": sorted(declared),
        "allow_extra_metadata": settings.allow_extra_metadata,
        "min_submitted": settings.distribution.min_submitted,
        "records": len(records),
        "undeclared_metadata": sorted({key for record in records for key in record.metadata} - declared),
        "suggestions": sorted({s.question_name for payload in payloads for s in payload.suggestions or []}),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:5])
