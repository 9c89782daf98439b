"""What every CLI (core's and each system's) shares: one way to fail on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape


def print_error(message: str) -> None:
    """Print ``error: message`` to stderr (brackets shown literally, e.g. GL's ``[]``)."""
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code`` (inside a command).

    Exit code 2 means bad input (a wrong option, key or value); the message names the field and the fix.
    """
    print_error(message)
    raise typer.Exit(code)


TABLE_SUFFIXES = (".csv", ".parquet")


def prepare_output(path: Path | None, option: str, folder: bool, suffixes: tuple[str, ...] = ()) -> None:
    """Create the folder ``path`` (``folder=True``) or the folder of the file ``path``, and write and remove
    a probe file there, before a command computes anything: a typo, a wrong ``suffixes`` ending or an
    unwritable output path costs a second, not the run. A clear error names ``option``; ``None`` (the option
    not given) passes."""
    import tempfile

    if path is None:
        return
    if suffixes and path.suffix not in suffixes:
        fail(f"{option} must end in {' or '.join(suffixes)} (got {path.name})")
    if folder and path.exists() and not path.is_dir():
        fail(f"{option} {path} is a file; give a folder (it is created if missing)")
    target = path if folder else path.parent
    existing = next((p for p in (target, *target.parents) if p.exists()), None)  # the nearest existing ancestor
    if existing is not None and not existing.is_dir():
        fail(f"{option} {path}: {existing} is a file, not a folder; give a path in a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as err:
        fail(f"{option} {path}: cannot write in the folder {target} ({err.strerror or err}); give a writable path")


def write_table(df, path: Path) -> None:
    """Write ``df`` to ``path`` as CSV (``.csv``) or Parquet (any other suffix; callers check it up front
    with :func:`prepare_output`), atomically: an interrupted write leaves no half file."""
    import io

    from aflab.core.report import atomic_write

    if path.suffix == ".csv":
        atomic_write(path, df.to_csv(index=False))
        return
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write(path, buf.getvalue())


#: set this environment variable to see the traceback of a file-system error instead of its one-line summary
TRACEBACK_ENV = "AFLAB_TRACEBACK"


def os_error_message(err: OSError) -> str:
    """One line for a file-system error no command caught (an output path whose folder does not exist or
    cannot be written, a full disk): what failed, on which path, and what to check."""
    what = err.strerror or type(err).__name__
    path = f": {err.filename}" if err.filename is not None else ""
    if err.filename2 is not None:
        path += f" -> {err.filename2}"
    return (
        f"{what}{path} (check that the folder exists or can be created, that it is writable and that the disk "
        f"has space; {TRACEBACK_ENV}=1 shows the traceback)"
    )
