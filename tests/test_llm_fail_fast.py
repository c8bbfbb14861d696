"""A dead or refusing LLM stops `sftgen run` after one wave of requests, with one line naming llm.base_url,
llm.model and the likely fix; an overloaded or slow server is not stopped. Every server is on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server
from tests.support.llm_projects import (
    ITEMS, chunk_filter_errors, error_lines, last_run, llm_project, run_in_process, run_subprocess, status_of,
)
from tests.support.local_http import free_port
from tests.support.odd_llm_servers import (
    answering, empty_body, html_page, json_without_choices, never_answer, odd_server, reset_connection,
)

ONE_WAVE = 64  # fewer requests than this: no second wave, let alone one request per item (80) or attempt (560)


def assert_stopped_with_one_line(exit_code: int, output: str, base_url: str, *fixes: str) -> str:
    assert exit_code == 1, output
    assert "Traceback" not in output
    lines = error_lines(output)
    assert len(lines) == 1, output
    line = lines[0]
    assert f"llm.base_url {base_url}" in line and "llm.model 'fake-model'" in line, line
    for fix in fixes:
        assert fix in line, line
    return line


# ---- with the recipe defaults, as `sftgen run` in a shell -----------------------------------------------

def test_a_port_where_nothing_listens_stops_the_run_with_one_line(tmp_path):
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    project = llm_project(tmp_path / "p", base_url)
    done = run_subprocess(project, {})
    line = assert_stopped_with_one_line(done.returncode, done.stdout + done.stderr, base_url,
                                        "Cannot connect to host", "Is the server running")
    assert "6 requests in a row failed" in line
    assert chunk_filter_errors(project) == 0, "no item is an error because the server is down"
    assert last_run(project)[0] == "failed"


def test_a_server_refusing_the_key_stops_the_run_naming_the_key_variable(tmp_path):
    refuse = ReplyRule(contains="", status=401, reply="Incorrect API key provided")
    with running_fake_server(FakeServerConfig(rules=[refuse])) as server:
        project = llm_project(tmp_path / "p", server.base_url)
        done = run_subprocess(project, {"OPENAI_API_KEY": "sk-wrong"})
        requests = server.stats()["requests"]
    assert_stopped_with_one_line(done.returncode, done.stdout + done.stderr, server.base_url,
                                 "HTTP 401", "refuses the API key from the environment variable OPENAI_API_KEY "
                                 "(llm.api_key_env)")
    assert 6 <= requests < ONE_WAVE


# ---- the other ways a server can be unusable ---------------------------------------------------------------

def test_a_base_url_without_v1_names_the_missing_v1(tmp_path):
    with running_fake_server() as server:
        project = llm_project(tmp_path / "p", server.root_url)
        result = run_in_process(project)
        requests = server.stats()["requests"]
    assert_stopped_with_one_line(result.exit_code, result.output, server.root_url, "HTTP 404",
                                 "llm.base_url has no /v1", f"try llm.base_url: {server.root_url}/v1")
    assert requests == 0, "the fake counts only requests that reached its /v1 endpoint"


def test_a_model_the_server_does_not_serve_is_named(tmp_path):
    unknown = '{"error": {"message": "The model `fake-model` does not exist.", "code": "model_not_found"}}'
    with odd_server(answering(404, unknown)) as server:
        project = llm_project(tmp_path / "p", server.base_url)
        result = run_in_process(project)
    assert_stopped_with_one_line(result.exit_code, result.output, server.base_url,
                                 "does not serve llm.model 'fake-model'", f"{server.base_url}/models")
    assert server.requests_seen < ONE_WAVE


@pytest.mark.parametrize("handler, said", [
    (html_page, "a body that is not JSON: '<!DOCTYPE html><html><body><h1>Welcome to nginx!"),
    (empty_body, "200 with an empty body"),
    (json_without_choices, "JSON that has no 'choices'"),
    (reset_connection, "closes connections without answering"),
    (answering(405, "Method Not Allowed"), "does not take POST"),
])
def test_a_server_that_does_not_answer_chat_completions_stops_the_run(tmp_path, handler, said):
    with odd_server(handler) as server:
        project = llm_project(tmp_path / "p", server.base_url)
        result = run_in_process(project)
    assert_stopped_with_one_line(result.exit_code, result.output, server.base_url, said)
    assert server.requests_seen < ONE_WAVE
    assert chunk_filter_errors(project) == 0


def test_a_hung_server_is_stopped_after_the_first_wave(tmp_path):
    with odd_server(never_answer) as server:
        project = llm_project(tmp_path / "p", server.base_url, timeout_s=1)
        result = run_in_process(project)
    assert_stopped_with_one_line(result.exit_code, result.output, server.base_url,
                                 "never answered within llm.timeout_s (1 s)", "Raise llm.timeout_s")
    assert server.requests_seen < ONE_WAVE


# ---- a server that is only overloaded is not stopped ---------------------------------------------------

def test_a_server_answering_500s_then_recovering_is_not_stopped(tmp_path):
    overloaded = ReplyRule(contains="", status=500, times=100)  # more than a wave, all before any success
    with running_fake_server(FakeServerConfig(rules=[overloaded])) as server:
        project = llm_project(tmp_path / "p", server.base_url)
        result = run_in_process(project)
        outcomes = server.stats()["outcomes"]
    assert result.exit_code == 0, result.output
    assert outcomes["500"] == 100 and outcomes["ok"] >= ITEMS
    judged = status_of(project)["chunk_filter"]
    assert judged["errors"] == 0 and judged["kept"] + sum(judged["dropped"].values()) == ITEMS
    assert last_run(project)[0] == "finished"
