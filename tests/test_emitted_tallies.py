"""Counting what steps pass on by a meta value in SQLite (`Emits.tally_emitted`, which `sftgen status` and
the quota ledger use) gives the counts the records themselves give, for any mix of meta values, statuses
and steps."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.records import Record, Status
from sftgen.store import ItemResult, open_store

MISSING = object()
meta_values = st.sampled_from(["a", "b", "", MISSING])
prompt_specs = st.lists(
    st.fixed_dictionaries({
        "subdomain": st.sampled_from(["quarks", "gluons", "", MISSING]),
        "profile_id": st.sampled_from(["p1", "p2", MISSING]),
        "rephrased_from": meta_values,
        "dropped": st.booleans(),
        "steps": st.sampled_from([("make",), ("remake",), ("make", "remake")]),
    }),
    max_size=30,
)


def expected(records: list[Record], status: Status, truthy: str | None, skip: set[str]) -> Counter:
    counts: Counter = Counter()
    for record in records:
        if record.status != status or (truthy and not record.meta.get(truthy)):
            continue
        if record.meta.get("profile_id") in skip:
            continue
        counts[record.meta.get("subdomain") or "(none)"] += 1
    return counts


@settings(max_examples=60, deadline=None)
@given(specs=prompt_specs, skip=st.sets(st.sampled_from(["p1", "p2", "p3"])), truthy=st.booleans(),
       status=st.sampled_from([Status.KEPT, Status.DROPPED]))
def test_tallies_match_counting_the_records(tmp_path_factory, specs, skip, truthy, status):
    store = open_store(tmp_path_factory.mktemp("store"), graph={"make": [], "remake": []})
    made: dict[str, list[Record]] = {"make": [], "remake": []}
    for n, spec in enumerate(specs):
        meta = {key: spec[key] for key in ("subdomain", "profile_id", "rephrased_from") if spec[key] is not MISSING}
        record = Record(kind="prompt", text=f"prompt {n}", meta=meta)
        for step in spec["steps"]:
            made[step].append(record)
    for step, records in made.items():
        store.commit_batch(step, "s", [ItemResult(f"source-{step}", Status.KEPT, outputs=records)])
    for n, spec in enumerate(specs):
        if spec["dropped"]:
            store.records.mark(Record(kind="prompt", text=f"prompt {n}").id, Status.DROPPED, "too_vague", "check")
    stored = list(store.emits.emitted_without_text(["make", "remake"], "prompt"))
    truthy_key = "rephrased_from" if truthy else None

    counted = store.emits.tally_emitted(["make", "remake"], "prompt", status, by="subdomain", truthy=truthy_key,
                                        not_in={"profile_id": skip})

    assert counted == dict(expected(stored, status, truthy_key, skip))
    store.close()


def test_meta_keys_must_be_plain_names(tmp_path):
    store = open_store(tmp_path, graph={"make": []})
    try:
        store.emits.tally_emitted(["make"], "prompt", Status.KEPT, by="subdomain') OR 1=1 --")
    except ValueError as exc:
        assert "plain names" in str(exc)
    else:
        raise AssertionError("a meta key with SQL in it was accepted")
    finally:
        store.close()


def test_reading_only_some_meta_keys(tmp_path):
    store = open_store(tmp_path, graph={"make": []})
    record = Record(kind="answer", text="An answer.", meta={"prompt_id": "pro_1", "scores": {"style": {"score": 4}},
                                                           "citations": [{"n": 1}], "candidate_index": 0})
    store.commit_batch("make", "s", [ItemResult("source", Status.KEPT, outputs=[record])])

    [read] = store.emits.emitted_without_text(["make"], "answer", keys=["scores", "candidate_index", "needs_review"])
    [single] = store.emits.emitted_without_text(["make"], "answer", keys=["scores"])

    assert read.meta == {"scores": {"style": {"score": 4}}, "candidate_index": 0}
    assert single.meta == {"scores": {"style": {"score": 4}}}
    assert (read.id, read.status, read.text, read.parent_ids) == (record.id, Status.KEPT, "", [])
    store.close()
