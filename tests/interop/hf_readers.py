"""Run with the Python of the `hf` test venv (tests/support/tool_venvs.py), never sftgen's:

    python hf_readers.py EXPORTS_DIR

EXPORTS_DIR holds one export kind written three ways by `sftgen export`: export.jsonl, export.parquet and
export_hf/ (with its README.md card). Reads each as a user would, and prints one JSON object:
- rows as `datasets.load_dataset("json")`, `load_dataset("parquet")` and `load_from_disk` (the hf folder)
  give them, and as pandas reads the Parquet file; what `load_dataset` says of the hf folder;
- the card's front matter as `huggingface_hub.DatasetCard` parses it;
- duckdb queries that reach nested fields with dots, list indexing and unnest (no JSON function).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import datasets
import duckdb
import huggingface_hub
import pandas

datasets.disable_progress_bars()


def rows_of(dataset) -> list[dict]:
    return dataset.to_list()


def refusal(hf: Path) -> str:
    try:
        datasets.load_dataset(str(hf))
    except ValueError as exc:
        return str(exc)
    return "loaded"


def duckdb_queries(parquet: Path, what: str) -> dict:
    connection = duckdb.connect()
    source = f"read_parquet('{parquet}')"
    if what == "sft":
        queries = {
            "per_row": f"""SELECT id, len(citations) AS cited, citations[1].url AS first_url,
                                  scores.style.score AS style, provenance.passage_ids AS passages,
                                  messages[len(messages)].content AS answer
                           FROM {source} ORDER BY id""",
            "cited_urls": f"""SELECT c.url FROM (SELECT unnest(citations) AS c FROM {source}) ORDER BY c.url""",
        }
    else:
        queries = {
            "per_row": f"""SELECT id, meta.subdomain AS subdomain, provenance[1].kind AS parent_kind,
                                  len(history) AS steps, [e.key FOR e IN meta_extra] AS extra_keys
                           FROM {source} ORDER BY id""",
        }
    results = {}
    for name, query in queries.items():
        cursor = connection.execute(query)
        columns = [column[0] for column in cursor.description]
        results[name] = [dict(zip(columns, row)) for row in cursor.fetchall()]
    return results


def main(folder: str, what: str) -> None:
    base = Path(folder)
    jsonl, parquet, hf = base / "export.jsonl", base / "export.parquet", base / "export_hf"
    saved = datasets.load_from_disk(str(hf))
    card = huggingface_hub.DatasetCard.load(hf / "README.md")
    print(json.dumps({
        "versions": {"datasets": datasets.__version__, "duckdb": duckdb.__version__,
                     "huggingface_hub": huggingface_hub.__version__, "pandas": pandas.__version__},
        "json": rows_of(datasets.load_dataset("json", data_files=str(jsonl), split="train")),
        "parquet": rows_of(datasets.load_dataset("parquet", data_files=str(parquet), split="train")),
        "parquet_features": str(datasets.load_dataset("parquet", data_files=str(parquet), split="train").features),
        "from_disk": rows_of(saved),
        "hf_load_dataset": refusal(hf),
        "pandas": json.loads(pandas.read_parquet(parquet).to_json(orient="records")),
        "card": card.data.to_dict(),
        "duckdb": duckdb_queries(parquet, what),
    }, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
