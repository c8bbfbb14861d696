"""`sftgen validate` asks the LLM what the steps ask: one request with a small JSON schema, in the run's
structured-output mode; a server whose replies the steps cannot read fails validation with a clear message."""

from __future__ import annotations

import pytest
import yaml
from aiohttp import web
from typer.testing import CliRunner

from sftgen.cli import app
from tests.fakes.fake_openai_server import FakeServerConfig, ReplyRule, running_fake_server
from tests.support.local_http import serving


def validate(project, base_url: str):
    env = {"SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": base_url, "SFTGEN_LLM_MODEL": "fake"}
    return CliRunner().invoke(app, ["validate", str(project)], env=env)


def unwrapped(output: str) -> str:
    """The output as one line: rich wraps long messages at the terminal width."""
    return " ".join(output.split())


@pytest.fixture
def project(tmp_path):
    assert CliRunner().invoke(app, ["init", str(tmp_path / "p")]).exit_code == 0
    return tmp_path / "p"


def set_structured_output(project, mode: str) -> None:
    recipe = project / "recipe.yaml"
    data = yaml.safe_load(recipe.read_text())
    data["llm"]["structured_output"] = mode
    recipe.write_text(yaml.safe_dump(data))


def test_a_server_answering_json_to_the_schema_passes(project):
    with running_fake_server() as server:
        result = validate(project, server.base_url)
        requests = server.stats()["requests"]
    assert result.exit_code == 0, result.output
    assert "llm: openai answers with JSON in structured_output mode json_schema" in unwrapped(result.output)
    assert requests == 1


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "instructions"])
def test_the_probe_asks_in_the_structured_output_mode_of_the_run(project, mode):
    set_structured_output(project, mode)
    bodies = []
    with running_fake_server() as server:
        server.script(lambda body: bodies.append(body) or '{"word": "OK"}')
        result = validate(project, server.base_url)
    assert result.exit_code == 0, result.output
    [body] = bodies
    response_format = body.get("response_format")
    if mode == "instructions":
        assert response_format is None and '"word"' in body["messages"][0]["content"]
    else:
        assert response_format["type"] == mode and "word" in str(response_format)


def test_a_reply_without_choices_fails_validation(project):
    async def no_choices(request: web.Request) -> web.Response:
        return web.json_response({"object": "chat.completion", "id": "x", "detail": "upstream returned nothing"})

    served = web.Application()
    served.router.add_post("/v1/chat/completions", no_choices)
    with serving(served) as root:
        result = validate(project, root + "/v1")
    assert result.exit_code == 2
    output = unwrapped(result.output)
    assert "without `choices`" in output and "not an OpenAI chat completion" in output and root in output


def test_a_plain_text_reply_fails_validation(project):
    plain = FakeServerConfig(rules=[ReplyRule(contains="", reply="Sure! The word is OK.")])
    with running_fake_server(plain) as server:
        result = validate(project, server.base_url)
    assert result.exit_code == 2
    output = unwrapped(result.output)
    assert "not JSON" in output and "structured_output mode json_schema" in output
    assert "Sure! The word is OK." in output


def test_a_refused_request_fails_validation_with_its_status(project):
    refusing = FakeServerConfig(rules=[ReplyRule(contains="", status=401, reply="invalid api key")])
    with running_fake_server(refusing) as server:
        result = validate(project, server.base_url)
    assert result.exit_code == 2
    output = unwrapped(result.output)
    assert "HTTP 401" in output and "invalid api key" in output


@pytest.mark.embedded
def test_the_embedded_model_passes_the_probe(project):
    result = CliRunner().invoke(app, ["validate", str(project)])
    assert result.exit_code == 0, result.output
    assert "llm: embedded answers with JSON in structured_output mode json_object" in unwrapped(result.output)
