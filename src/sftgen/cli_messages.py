"""How the command line speaks. Text from outside (file names, YAML, server replies, record text, reasons)
is escaped, so rich never reads `[/INST]` or `[docs]` as markup, and a message is printed as one
unwrapped line (YAML errors keep their caret under the column it points at)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape


def error(console: Console, message: object) -> None:
    console.print(f"[red]error:[/red] {escape(str(message))}", highlight=False, soft_wrap=True)


def note(console: Console, label: str, message: object, style: str = "yellow") -> None:
    console.print(f"[{style}]{label}:[/{style}] {escape(str(message))}", highlight=False, soft_wrap=True)


def plain(console: Console, text: object) -> None:
    """Print as it is: no markup, no highlighting."""
    console.print(str(text), markup=False, highlight=False, soft_wrap=True)
