"""The command-line options, generated from :data:`loader.settings.OPTIONS`: each command shows
the groups it uses, and only those, under a heading per group in ``--help``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from loader.settings import OPTIONS, Option

F = TypeVar("F", bound=Callable[..., Any])

_OUTPUT = [
    click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="One JSON line on stdout: the result or the error",
    ),
    click.option("--debug", is_flag=True, help="Show tracebacks"),
]


#: --help's heading of each option group; a command's own options come first, under "Options"
HEADINGS = {
    "source": "Source",
    "lake": "Lake",
    "warehouse": "Warehouse",
    "lookback": "Day",
    "reporting": "Day",
    "zone_change": "Day",
}
_HEADING_OF = {o.name: HEADINGS[group] for group, opts in OPTIONS.items() for o in opts}
_HEADING_OF.update(as_json="Output", debug="Output", help="Output")


class GroupedCommand(click.Command):
    """A command whose --help lists its options under the heading of their group."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                heading = _HEADING_OF.get(param.name or "", "Options")
                sections.setdefault(heading, []).append(record)
        for heading, rows in sections.items():
            with formatter.section(heading):
                formatter.write_dl(rows, col_max=28)


def _click_option(option: Option) -> Callable[[F], F]:
    where = [option.env] if option.env else []
    if option.default is not None:
        where.append(f"default {option.default}")
    help_text = option.help + (f" [{', '.join(where)}]" if where else "")
    if option.is_flag:
        return click.option(option.flag, option.name, is_flag=True, help=help_text)
    return click.option(
        option.flag,
        option.name,
        envvar=option.env,
        default=option.default,
        metavar=option.metavar,
        type=click.Choice(list(option.choices)) if option.choices else None,
        help=help_text,
    )


def options(*groups: str) -> Callable[[F], F]:
    """The options of the named groups (``output``: --json and --debug), in that order."""
    decorators = [
        decorator
        for group in groups
        for decorator in (_OUTPUT if group == "output" else map(_click_option, OPTIONS[group]))
    ]

    def decorate(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate
