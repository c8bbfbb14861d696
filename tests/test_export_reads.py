"""The exports' batched reads (export/reads.py) give what the store's one-record reads give: the ancestors
in the order `Store.lineage` walks them (shared ancestors, a missing parent, a cycle), their provenance
meta values whatever their JSON type, the step histories and the records by id."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sftgen.export.reads import Ancestry
from sftgen.export.rows import provenance_chain, provenance_reader
from sftgen.export.schema import PROVENANCE_KEYS
from sftgen.export.conform import as_text
from sftgen.records import Record, Status
from sftgen.store import ItemResult
from sftgen.store.store import Store

META_VALUES = st.one_of(st.none(), st.text(max_size=5), st.integers(-3, 3), st.floats(allow_nan=False, width=16),
                        st.booleans(), st.lists(st.integers(0, 2), max_size=2), st.dictionaries(st.text(max_size=2),
                                                                                                  st.integers(0, 2),
                                                                                                  max_size=2))


def family(meta_value):
    """A document, two chunks of it, a profile of both, two prompts (one rephrased from the other, with a
    parent that is not in the store), and a record whose parents lead back to itself."""
    document = Record(kind="document", text="doc", meta={"source": "a.md", "url": meta_value})
    chunks = [Record(kind="chunk", text=f"chunk {n}", parent_ids=[document.id], meta={"topic": meta_value})
              for n in range(2)]
    profile = Record(kind="profile", text="a persona", parent_ids=[c.id for c in chunks], meta={"subdomain": "q"})
    first = Record(kind="prompt", text="first?", parent_ids=[profile.id], meta={"query": meta_value})
    second = Record(kind="prompt", text="second?", parent_ids=[first.id, "pro_missing", profile.id])
    looped = Record(kind="prompt", text="looped?", parent_ids=[second.id], id="pro_looped")
    looped.parent_ids.append(looped.id)
    return [document, *chunks, profile, first, second, looped]


def expected_chain(store, record):
    chain = []
    for ancestor in store.lineage(record.id)[1:]:
        entry = {"id": ancestor.id, "kind": ancestor.kind, "step": ancestor.step}
        entry.update({key: as_text(ancestor.meta.get(key)) or None for key in PROVENANCE_KEYS})
        entry["text"] = ancestor.text if ancestor.kind in ("profile", "prompt", "query") else None
        chain.append(entry)
    return chain


@settings(max_examples=25, deadline=None)
@given(meta_value=META_VALUES)
@example(meta_value=float("inf"))  # JSON SQLite cannot parse: Python writes it as Infinity
def test_ancestors_read_in_batches_are_the_lineage_walked_one_by_one(tmp_path_factory, meta_value):
    store = Store(tmp_path_factory.mktemp("reads") / "store.db")
    records = family(meta_value)
    store.put_records(records)
    reader = provenance_reader(store)
    reader.load(record.parent_ids for record in records)
    for record in records:
        assert provenance_chain(reader, record) == expected_chain(store, record)
    bare = Ancestry(store.lookups)
    bare.load([records[-1].parent_ids])
    assert [a.id for a in bare.ancestors(records[-1].id, records[-1].parent_ids)] == \
        [r.id for r in store.lineage(records[-1].id)[1:]]
    store.close()


def test_histories_metas_and_records_by_id_are_the_one_record_reads(tmp_path):
    store = Store(tmp_path / "store.db", graph={"a": [], "b": ["a"]})
    records = family("x")
    store.put_records(records)
    store.commit_batch("a", "s", [ItemResult(item_id=r.id, outcome=Status.KEPT, passes_input_on=True) for r in records])
    store.commit_batch("b", "s", [ItemResult(item_id=records[1].id, outcome=Status.DROPPED, reason="short")])
    ids = [r.id for r in records] + ["nope"]
    assert store.lookups.histories(ids) == {item_id: store.progress.history(item_id) for item_id in ids}
    assert store.lookups.metas(ids) == {r.id: store.get(r.id).meta for r in records}
    assert store.lookups.records(ids) == {r.id: store.get(r.id) for r in records}
    store.close()
