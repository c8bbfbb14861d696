"""A clear error when the optional embedding packages are not installed."""

from __future__ import annotations

import importlib.util

INSTALL_HINT = "install them with: pip install 'sftgen[embed]'"


class EmbedderUnavailable(RuntimeError):
    """The embedder cannot be loaded or made (missing packages, missing model files)."""


def require(*modules: str, purpose: str) -> None:
    missing = [name for name in modules if not module_available(name)]
    if missing:
        raise EmbedderUnavailable(
            f"{purpose} needs the optional packages of the extra sftgen[embed] "
            f"(missing: {', '.join(missing)}); {INSTALL_HINT}"
        )


def module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False
