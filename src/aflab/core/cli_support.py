"""What every CLI (core's and each system's) shares: one way to fail on bad input."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr (brackets shown literally, e.g. GL's ``[]``) and exit with ``code``.

    Exit code 2 means bad input (a wrong option, key or value); the message names the field and the fix.
    """
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
