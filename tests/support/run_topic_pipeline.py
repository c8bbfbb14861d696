"""`python -m tests.support.run_topic_pipeline PROJECT BASE_URL`: run the topic test pipeline in its own
process, so a test can kill it mid-run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sftgen.llm.client import Backoff, ChatClient
from sftgen.project import Project
from sftgen.run.runner import run_project
from tests.support.topic_step import topic_pipeline

CONCURRENCY = 4


async def main(project_dir: Path, base_url: str) -> None:
    client = ChatClient(base_url, "fake-model", max_concurrency=CONCURRENCY, backoff=Backoff(0.001, 0.01))
    try:
        await run_project(Project.open(project_dir), llm=client, pipeline=topic_pipeline())
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
