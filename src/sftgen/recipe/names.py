"""A name in the recipe (domain, subdomain, folder, task type, persona...): never empty or blank."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Name = Annotated[str, AfterValidator(not_blank)]
