"""Cleaned pages on disk under `<project>/.sftgen/pages/`, one JSON file per URL (keyed by its hash).

Only pages that were fetched and cleaned are kept; refusals are asked again next time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sftgen.fetch.page import FetchedPage
from sftgen.records import stable_hash


class PageCache:
    def __init__(self, folder: Path):
        self.folder = folder

    def path_for(self, url: str) -> Path:
        key = stable_hash("page", url)
        return self.folder / key[:2] / f"{key}.json"

    def get(self, url: str) -> FetchedPage | None:
        path = self.path_for(url)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("url") != url:
            return None
        page = FetchedPage(**data)
        page.from_cache = True
        return page

    def put(self, page: FetchedPage) -> None:
        if not page.ok:
            return
        path = self.path_for(page.url)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        temporary.write_text(json.dumps(page.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)  # atomic: a reader never sees half a file
