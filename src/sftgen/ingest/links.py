"""Symlinks in a source folder. A link is read only when its target is a file inside the source folder;
every other link is recorded with its reason instead of being read or silently skipped:

- `outside_source`: the target is outside the source folder (`docs/passwd.txt -> /etc/passwd`);
- `dangling_link`: the target does not exist;
- `symlink_loop`: resolving it never ends, or it links to a folder that holds it;
- `duplicate_link`: it links to another folder inside the source folder, which is read as itself.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from sftgen.ingest.documents import UnreadableFile


def link_problem(path: Path, root: Path, source: str) -> UnreadableFile | None:
    """Why the link at `path` (inside `root`) is not read, or None when it is a plain entry or a link to a
    file inside `root`. `source` names the link in the problem's detail."""
    if not path.is_symlink():
        return None
    real_root = Path(os.path.realpath(root))
    try:
        target = Path(os.path.realpath(path, strict=True))
    except OSError as error:
        if error.errno == errno.ELOOP:
            return UnreadableFile("symlink_loop", f"{source}: a symlink loop ({os.readlink(path)})", source)
        return UnreadableFile("dangling_link", f"{source}: links to {os.readlink(path)}, which does not exist",
                              source)
    if not target.is_relative_to(real_root):
        return UnreadableFile("outside_source", f"{source}: links to {target}, outside the source folder "
                                                f"{real_root}; not read", source)
    if target.is_dir():
        if Path(os.path.realpath(path.parent)).is_relative_to(target):
            return UnreadableFile("symlink_loop", f"{source}: links to {target}, a folder that holds it", source)
        return UnreadableFile("duplicate_link", f"{source}: links to the folder {target}, which is read as itself",
                              source)
    return None
