"""The command-line options, generated from :data:`loader.settings.OPTIONS`: each command shows
the groups it uses, and only those."""

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
        help="Print one JSON line on stdout, the result or the error (for orchestrators)",
    ),
    click.option("--debug", is_flag=True, help="Show tracebacks"),
]


def _click_option(option: Option) -> Callable[[F], F]:
    help_text = option.help + (f" [{option.env}]" if option.env else "")
    if option.is_flag:
        return click.option(option.flag, option.name, is_flag=True, help=help_text)
    return click.option(
        option.flag,
        option.name,
        envvar=option.env,
        default=option.default,
        show_default=option.default is not None,
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
