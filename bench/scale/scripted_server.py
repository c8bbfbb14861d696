"""The fake OpenAI-compatible server (tests/fakes) as a subprocess, with the scripted model loaded: the
prompt half answered by tests/support/prompt_script.py, the answer half by `AnswerScript` (queries that
find corpus pages, an answer citing two passages, scores above the threshold). Every step keeps what it is
given, so the pipeline reaches the N prompts it is sized for.

    python bench/scale/scripted_server.py --latency-ms 50      # prints `PORT <n>`, serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.fake_app import FakeServerState, start_serving  # noqa: E402
from tests.fakes.fake_config import FakeServerConfig  # noqa: E402
from tests.fakes.fake_openai_server import FakeServerProcess, _read_port_line  # noqa: E402
from tests.support.answer_project import scores_reply, template_of, user_text  # noqa: E402
from tests.support.prompt_script import PromptScript, words  # noqa: E402

QUERY_COUNT = re.compile(r"Write (\d+) short search queries")


class AnswerScript:
    """The answer half's requests: search queries, a grounded answer, the judge's scores."""

    def __call__(self, step: str | None, body: dict[str, Any]) -> str | None:
        template = template_of(step, body)
        user = user_text(body)
        if template == "answer_queries":
            count = int(QUERY_COUNT.search(user).group(1))
            return json.dumps({"queries": [f"{words(user + str(i), 5)} measurement" for i in range(count)]})
        if template == "answer":
            sentences = [f"{words(user + str(i), 10).capitalize()} [{1 + i % 2}]." for i in range(8)]
            return json.dumps({"answer": " ".join(sentences)})
        if template == "answer_eval":
            return scores_reply(4)
        return None


async def serve(latency_ms: float, backlog: int) -> None:
    state = FakeServerState(FakeServerConfig(latency_kind="fixed", latency_ms=latency_ms))
    state.scripts += [lambda request, script=script: script(request.step, request.body)  # by the step header
                      for script in (PromptScript(), AnswerScript())]
    runner, port = await start_serving(state, "127.0.0.1", 0, backlog)
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def spawn_scripted_server(latency_s: float, backlog: int = 4096) -> FakeServerProcess:
    """Start it and wait for its port; the handle's close() stops it."""
    command = [sys.executable, str(Path(__file__).resolve()), "--latency-ms", str(latency_s * 1000),
               "--backlog", str(backlog)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        port = _read_port_line(process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return FakeServerProcess(process, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.latency_ms, args.backlog))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
