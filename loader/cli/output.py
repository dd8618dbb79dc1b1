"""What the command line prints: results (text or one JSON line), warnings, and errors as one
line with an exit code (2: bad input, 1: a failure; a traceback only with --debug)."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from loader.errors import LoaderError, redact

F = TypeVar("F", bound=Callable[..., Any])


def n_days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def report(kw: dict[str, Any], result: dict[str, Any], text: str) -> None:
    if kw.get("as_json"):
        click.echo(json.dumps(result, default=str, sort_keys=True))
    else:
        click.echo(text)


def warn(message: str) -> None:
    click.echo(f"nps-loader: warning: {redact(message)}", err=True)


def handle_errors(func: F) -> F:
    """One clear line on stderr and a non-zero exit; a traceback only with --debug. With
    --json the error is also one JSON line on stdout, where an orchestrator reads results."""
    command = func.__name__.replace("_", "-")

    def fail(kw: dict[str, Any], message: str, code: int) -> None:
        if kw.get("as_json"):
            error = {"command": command, "ok": False, "error": message, "exit_code": code}
            click.echo(json.dumps(error, sort_keys=True))
        click.echo(f"nps-loader: error: {message}", err=True)
        sys.exit(code)

    @functools.wraps(func)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return func(*args, **kw)
        except LoaderError as exc:
            if kw.get("debug"):
                raise
            fail(kw, redact(str(exc)), exc.exit_code)
        except Exception as exc:  # an unexpected failure still fails loudly, in one line
            if kw.get("debug"):
                raise
            message = (
                f"unexpected {type(exc).__name__}: {redact(str(exc))} "
                "(re-run with --debug for the traceback)"
            )
            fail(kw, message, 1)

    return wrapper  # type: ignore[return-value]


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_warnings() -> None:
    """The loader's warnings (``logging.getLogger("loader")``) as one line each on stderr."""
    logger = logging.getLogger("loader")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_RedactingFormatter("nps-loader: warning: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


class LoaderGroup(click.Group):
    """``nps-loader``: a usage error (a missing or unknown option, a bad choice) is one line on
    stderr and exit 2, and one JSON error line on stdout under --json, like every other error;
    click's own form is four lines of usage and no JSON."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = sys.argv[1:] if args is None else list(args)
        try:
            result = super().main(argv, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # `nps-loader` alone: the help
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            path = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else ""
            message = exc.format_message().rstrip(".")
            message = message[:1].lower() + message[1:]
            if path:
                message += f" (`{path} --help` lists the options)"
            command = next((a for a in argv if a in self.commands), None)
            if "--json" in argv:
                error = {"command": command, "ok": False, "error": message, "exit_code": 2}
                click.echo(json.dumps(error, sort_keys=True))
            click.echo(f"nps-loader: error: {message}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("nps-loader: error: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
