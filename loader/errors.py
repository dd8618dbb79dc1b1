"""Errors a user can act on. The CLI turns each into one line on stderr and a non-zero exit."""

from __future__ import annotations

import re


class LoaderError(Exception):
    """Base class: the message names what failed and what to do about it."""

    exit_code = 1


class ConfigError(LoaderError):
    """A setting, flag or date is malformed or missing."""

    exit_code = 2


class SourceError(LoaderError):
    """The production source cannot be read as configured."""


class LakeError(LoaderError):
    """An extract in the lake is missing, incomplete or tampered with."""


class WarehouseError(LoaderError):
    """The warehouse refused a load; nothing was committed."""


_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a password or key so that it is masked in every message the loader prints."""
    if value and len(value) >= 3:
        _secrets.add(value)


_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+):[^@/\s]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """Mask registered secrets and any ``user:password@`` part of a URL."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(r"\g<scheme>:***@", text)


def first_line(exc: BaseException) -> str:
    """The first line of a driver's error (a PostgreSQL error's server message when it has one):
    errors are one line, without the context lines drivers append."""
    text = (getattr(exc, "pgerror", None) or str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
