"""The benchmarks' output: one section per benchmark, printed as it is measured and kept in
bench/results.md and bench/results.json.

A run of some benchmarks (``--only``) replaces their sections and keeps the others, each with the
date and machine it was measured on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the benchmarks in the order their sections appear
ORDER = ("1", "1b", "2", "3", "4", "5", "6")


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} "
        f"cores, {memory:.0f} GiB, Python {platform.python_version()}, MariaDB and PostgreSQL 15 "
        "on loopback (fsync off)."
    )


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}"


@dataclass
class Section:
    key: str
    title: str
    lines: list[str] = field(default_factory=list)
    data: Any = None

    def markdown(self) -> str:
        return "\n".join([f"### {self.key}. {self.title}", "", *self.lines]).rstrip() + "\n"


class Report:
    """Sections by benchmark key; :meth:`save` merges them into the files already there."""

    def __init__(self, markdown: Path, data: Path) -> None:
        self.markdown_path = markdown
        self.data_path = data
        self.sections: dict[str, Section] = {}
        self.current: Section | None = None

    def section(self, key: str, title: str) -> Section:
        self.current = self.sections[key] = Section(key, title, [machine(), ""])
        print(f"\n### {key}. {title}\n\n{machine()}\n", flush=True)
        return self.current

    def line(self, text: str = "") -> None:
        assert self.current is not None, "a line belongs to a section"
        print(text, flush=True)
        self.current.lines.append(text)

    def table(self, header: list[str], rows: list[list[Any]]) -> None:
        self.line("| " + " | ".join(header) + " |")
        self.line("|" + "---|" * len(header))
        for row in rows:
            self.line("| " + " | ".join(str(c) for c in row) + " |")
        self.line()

    def save(self) -> None:
        kept = self._previous_markdown()
        data = json.loads(self.data_path.read_text()) if self.data_path.exists() else {}
        for key, section in self.sections.items():
            kept[key] = section.markdown()
            data[key] = section.data
        ordered = sorted(kept, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER))
        self.markdown_path.write_text("\n".join(kept[k] for k in ordered))
        self.data_path.write_text(json.dumps(data, indent=2, default=str) + "\n")

    def _previous_markdown(self) -> dict[str, str]:
        if not self.markdown_path.exists():
            return {}
        text = self.markdown_path.read_text()
        parts = re.split(r"^(?=### )", text, flags=re.MULTILINE)
        found = {}
        for part in parts:
            match = re.match(r"### (\w+)\. ", part)
            if match:
                found[match.group(1)] = part.rstrip() + "\n"
        return found
