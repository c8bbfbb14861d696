"""Safety of the review server: escaped text, an access token when one is set (over real HTTP), no binding
beyond loopback without a token, and CSRF protection on every state-changing request."""

from __future__ import annotations


import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sftgen.cli import app as cli
from sftgen.project import Project
from sftgen.review.app import create_app
from sftgen.decisions.log import ReviewLog
from sftgen.review.security import UnsafeBinding
from sftgen.review.server import running_review_server
from tests.support.review_client import BASE, csrf_of, signed_in
from tests.support.review_project import SCRIPT_PROMPT, make_review_project, seed_prompts

@pytest.fixture
def project(tmp_path):
    root = make_review_project(tmp_path / "p")
    seed_prompts(root)
    return root


def decisions(project_dir):
    store = Project.open(project_dir).store()
    try:
        return [(d.reviewer, d.decision) for d in ReviewLog(store).decisions()]
    finally:
        store.close()


def test_a_script_in_a_prompt_is_shown_as_text(project):
    client = signed_in(project)
    script_id = next(p.id for p in seed_prompts(project) if p.text == SCRIPT_PROMPT)
    page = client.get(f"/item/{script_id}")
    assert page.status_code == 200
    assert "<script>window.__pwned" not in page.text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page.text
    assert "script-src 'nonce-" in page.headers["content-security-policy"]


def test_state_changing_requests_need_the_csrf_token_and_our_origin(project):
    client = signed_in(project)
    prompt = seed_prompts(project)[0]
    page = client.get(f"/item/{prompt.id}")
    good = {"csrf": csrf_of(page.text), "decision": "accept", "version_id": prompt.id}
    assert client.post(f"/item/{prompt.id}/decide", data={**good, "csrf": "forged"},
                       headers={"origin": BASE}).status_code == 403
    assert client.post(f"/item/{prompt.id}/decide", data=good,
                       headers={"origin": "http://evil.example"}).status_code == 403
    assert client.post(f"/item/{prompt.id}/decide", data=good).status_code == 403  # neither Origin nor Referer
    other_browser = signed_in(project, "bob")  # a session of its own: ana's token is not valid there
    assert other_browser.post(f"/item/{prompt.id}/decide", data=good, headers={"origin": BASE}).status_code == 403
    assert decisions(project) == []
    accepted = client.post(f"/item/{prompt.id}/decide", data=good, headers={"referer": f"{BASE}/item/x"},
                           follow_redirects=False)
    assert accepted.status_code == 303
    assert decisions(project) == [("ana", "accept")]


def test_cookies_are_same_site_strict(project):
    client = TestClient(create_app(Project.open(project)), base_url=BASE)
    page = client.get("/")
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    named = client.post("/whoami", data={"name": "ana", "csrf": csrf_of(page.text)}, headers={"origin": BASE},
                        follow_redirects=False)
    assert named.status_code == 303 and "samesite=strict" in named.headers["set-cookie"].lower()


def test_a_token_guards_every_request_over_http(project):
    with running_review_server(Project.open(project), token="s3cret-token") as server:
        assert httpx.get(f"{server.url}/").status_code == 401
        assert httpx.get(f"{server.url}/stats", headers={"X-Review-Token": "wrong"}).status_code == 401
        assert httpx.post(f"{server.url}/whoami", data={"name": "x"}).status_code == 401
        assert httpx.get(f"{server.url}/stats", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        with httpx.Client() as browser:
            first = browser.get(f"{server.url}/?token=s3cret-token")
            assert first.status_code == 200
            assert browser.get(f"{server.url}/stats").status_code == 200  # the cookie carries it from now on


def test_no_binding_beyond_loopback_without_a_token(project):
    with pytest.raises(UnsafeBinding, match="needs an access token"):
        with running_review_server(Project.open(project), host="0.0.0.0"):
            pass
    result = CliRunner().invoke(cli, ["review", str(project), "--host", "0.0.0.0"], env={"SFTGEN_REVIEW_TOKEN": ""})
    assert result.exit_code == 2 and "needs an access token" in result.output


def test_a_request_naming_another_host_is_refused_over_http(project):
    """A DNS-rebinding page (evil.example resolving to 127.0.0.1) names its own host: no read, no decision."""
    prompt = seed_prompts(project)[0]
    with running_review_server(Project.open(project)) as server, httpx.Client() as browser:
        forged = {"host": f"evil.example:{server.port}", "origin": f"http://evil.example:{server.port}"}
        page = browser.get(f"{server.url}/item/{prompt.id}", headers=forged)
        assert page.status_code == 421 and prompt.text not in page.text
        assert browser.get(f"{server.url}/stats", headers=forged).status_code == 421
        csrf = csrf_of(browser.get(f"{server.url}/").text)
        assert browser.post(f"{server.url}/whoami", data={"name": "eve", "csrf": csrf}, headers=forged).status_code == 421
        browser.post(f"{server.url}/whoami", data={"name": "ana", "csrf": csrf}, headers={"origin": server.url})
        own = browser.get(f"{server.url}/item/{prompt.id}")
        assert own.status_code == 200 and prompt.text in own.text
        form = {"csrf": csrf_of(own.text), "decision": "accept", "version_id": prompt.id}
        assert browser.post(f"{server.url}/item/{prompt.id}/decide", data=form, headers=forged).status_code == 421
        assert decisions(project) == []
        assert browser.post(f"{server.url}/item/{prompt.id}/decide", data=form, headers={"origin": server.url},
                            follow_redirects=False).status_code == 303
        assert decisions(project) == [("ana", "accept")]
        # the loopback names with the server's own port are served; another port is not this server
        assert browser.get(f"{server.url}/stats", headers={"host": f"localhost:{server.port}"}).status_code == 200
        assert browser.get(f"{server.url}/stats", headers={"host": f"[::1]:{server.port}"}).status_code == 200
        assert browser.get(f"{server.url}/stats", headers={"host": f"127.0.0.1:{server.port + 1}"}).status_code == 421
        assert browser.get(f"{server.url}/stats", headers={"host": "127.0.0.1"}).status_code == 421


def test_names_given_with_allowed_host_are_served(project):
    with running_review_server(Project.open(project), allowed_hosts=("review.lab.internal",)) as server:
        named = {"host": f"Review.Lab.Internal:{server.port}"}
        assert httpx.get(f"{server.url}/stats", headers=named).status_code == 200
        assert httpx.get(f"{server.url}/stats", headers={"host": f"other.lab:{server.port}"}).status_code == 421


def test_sftgen_review_takes_allowed_host_names_on_the_command_line(project):
    import subprocess
    import sys
    import time

    from tests.support.local_http import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sftgen.cli", "review", str(project), "--port", str(port),
                               "--allowed-host", "review.lab", "--allowed-host", "other.lab"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the review server did not start"
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/stats"
        assert [httpx.get(url, headers={"host": f"{name}:{port}"}).status_code
                for name in ("review.lab", "other.lab", "evil.example")] == [200, 200, 421]
    finally:
        server.terminate()
        server.wait(10)
