"""The systems aflab knows, found from one small file each: ``aflab/<system>/system.toml``.

A system declares itself (report title, CLI name, order, one-line help) in that file, so adding a
system edits no file in ``core``. The files are read without importing the systems, which keeps
``aflab --help`` and ``aflab list`` from loading torch or a model.

    # aflab/waluigi/system.toml
    title = "2. Bounded-context personas (Waluigi)"
    cli_name = "waluigi"
    order = 2
    help = "Bounded-context personas: exact and simulated windows, a trained transformer, SmolLM2."
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../aflab


@dataclass(frozen=True)
class SystemInfo:
    """What a system says about itself in its ``system.toml``."""

    name: str  # the subpackage, e.g. "logical_induction"
    title: str  # the report's section title
    cli_name: str  # the sub-command, e.g. "li"
    order: int  # report and listing order
    help: str = ""  # one line for `aflab --help`


CORE = SystemInfo("core", "Harness self-check", "core", 0, "")


def _read(path: Path) -> SystemInfo:
    try:
        data = tomllib.loads(path.read_text())
        info = SystemInfo(
            path.parent.name, str(data["title"]), str(data["cli_name"]), int(data["order"]), str(data.get("help", ""))
        )
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"{path}: a system.toml needs title, cli_name and order (integer): {err}") from None
    return info


@functools.lru_cache(maxsize=1)
def discover() -> tuple[SystemInfo, ...]:
    """Every ``aflab/*/system.toml``, in (order, name) order."""
    infos = [_read(p) for p in sorted(_PACKAGE_DIR.glob("*/system.toml"))]
    seen: dict[str, str] = {}
    for info in infos:
        if info.cli_name in seen:
            raise ValueError(f"systems {seen[info.cli_name]} and {info.name} both claim the CLI name {info.cli_name!r}")
        seen[info.cli_name] = info.name
    return tuple(sorted(infos, key=lambda i: (i.order, i.name)))


def system_names() -> tuple[str, ...]:
    return tuple(i.name for i in discover())


def system_info(name: str) -> SystemInfo:
    """The declared info of ``name`` (``core`` included); an unknown name (a plugin) gets its name as title."""
    if name == "core":
        return CORE
    for info in discover():
        if info.name == name:
            return info
    return SystemInfo(name, name, name, 99, "")
