"""Failures of the whole run, as opposed to failures of one item.

One broken document or one malformed LLM reply is recorded on its item and the run goes on. A failure
of the whole (no LLM, the embedded server died, no disk, no source folder) is a `RunStopped`: the executor
stops at once, commits what had finished, leaves the items in flight pending for the next run, and the
command line prints the message as one line and exits with `exit_code`.
"""

from __future__ import annotations


class RunStopped(Exception):
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
