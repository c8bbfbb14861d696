"""A full disk stops the run: nothing more can be recorded, so nothing more should be asked.

SQLite reports a full filesystem as SQLITE_FULL ("database or disk is full"), or, when the WAL index cannot
grow, as an I/O error; files report OSError ENOSPC (or EDQUOT, a full quota). Either becomes `DiskFull`, a
`RunStopped`: the run ends with one line naming the path, and no item is marked as an error because of it.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
import sys
import threading
from pathlib import Path

from sftgen.failures import RunStopped

SQLITE_FULL = 13
SQLITE_IOERR = 10
NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
NEARLY_FULL_BYTES = 1 << 20
"""Below this much free space, an SQLite I/O error on write is taken for a full disk."""


class DiskFull(RunStopped):
    def __init__(self, path: Path, what: str):
        free = free_bytes(path)
        room = "" if free is None else f", {free // 1024} KiB free"
        super().__init__(f"disk full: cannot write {path} ({what}{room}); free some space there and run "
                         "`sftgen run` again: it resumes where it stopped")
        self.path = path


def free_bytes(path: Path) -> int | None:
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def is_disk_full(error: BaseException, path: Path | None = None) -> bool:
    if isinstance(error, OSError) and not isinstance(error, sqlite3.Error):
        return error.errno in NO_SPACE_ERRNOS
    if not isinstance(error, sqlite3.Error):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and code & 0xFF == SQLITE_FULL:
        return True
    if "database or disk is full" in str(error):
        return True
    if path is not None and ((code is not None and code & 0xFF == SQLITE_IOERR) or "disk I/O error" in str(error)):
        free = free_bytes(path)
        return free is not None and free < NEARLY_FULL_BYTES
    return False


class RunLogHandler(logging.FileHandler):
    """The run's log file. When the disk fills, the first failed write raises `DiskFull` in the thread that
    opened the log (the run's), and later records are dropped, so stopping the run does not fail again."""

    def __init__(self, path: Path):
        super().__init__(path, encoding="utf-8")
        self.path = Path(path)
        self.full = False
        self.owner = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if not self.full:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if error is None or not is_disk_full(error):
            super().handleError(record)
            return
        self.full = True
        if threading.get_ident() == self.owner:
            raise DiskFull(self.path, "the run log") from error

    def close(self) -> None:
        try:
            super().close()
        except OSError as error:  # the unwritten tail of the log cannot be flushed to a full disk
            if not is_disk_full(error):
                raise
            self.stream = None
