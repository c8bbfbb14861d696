"""What the steps of one run share is made once, on first use, and closed when the run's context closes:
one fetcher for URL lists, research and the answer search (per-host limits hold run-wide), one search
backend per name, one of each piece of per-run state."""

from __future__ import annotations

import asyncio

from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.quotas.ledger import QuotaLedger
from sftgen.research.budget import ResearchBudget
from sftgen.run.open import open_run
from sftgen.store.db import RUN_PAGE_CACHE_MB, RUN_WAL_PAGES
from tests.support.answer_project import make_answer_project


def test_a_run_shares_one_fetcher_and_one_backend_per_name_and_closes_them(tmp_path):
    project = Project.open(make_answer_project(tmp_path / "p"))  # research and answers search `local`

    async def go():
        store = project.store()
        async with open_run(project, standard_pipeline(project.recipe), store) as ctx:
            services = ctx.services
            fetcher = services.fetcher()
            assert services.fetcher() is fetcher
            assert services.search(project.recipe.answers.search_backend) is services.search() is \
                services.search("local")
            ledger = services.state(QuotaLedger, lambda: QuotaLedger(planned=None))
            assert services.state(QuotaLedger, lambda: QuotaLedger(planned={})) is ledger
            assert services.state(ResearchBudget, lambda: ResearchBudget(1, 1)) is not ledger
            services.forget(QuotaLedger)
            assert services.state(QuotaLedger, lambda: QuotaLedger(planned={})).planned == {}
        store.close()
        return fetcher

    fetcher = asyncio.run(go())
    assert fetcher.client.is_closed


def test_a_runs_store_connection_keeps_more_pages_and_a_longer_log_than_a_plain_open(tmp_path):
    project = Project.open(make_answer_project(tmp_path / "p"))

    def settings(store):
        return (store.conn.execute("PRAGMA cache_size").fetchone()[0],
                store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

    async def go():
        store = project.store()
        async with open_run(project, standard_pipeline(project.recipe), store):
            during = settings(store)
        store.close()
        return during

    assert asyncio.run(go()) == (-RUN_PAGE_CACHE_MB * 1024, RUN_WAL_PAGES)
    plain = project.store()  # status, exports, the review app: SQLite's defaults and their flat memory
    assert settings(plain) == (-2000, 1000)
    plain.close()
