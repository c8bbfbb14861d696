"""Talking to the review app in tests: a signed-in test client and the CSRF token of a page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sftgen.project import Project
from sftgen.review.app import create_app

BASE = "http://127.0.0.1:8765"


def signed_in(project_dir, name="ana"):
    client = TestClient(create_app(Project.open(project_dir)), base_url=BASE)
    page = client.get("/")
    client.post("/whoami", data={"name": name, "csrf": csrf_of(page.text)}, headers={"origin": BASE})
    return client


def csrf_of(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)
