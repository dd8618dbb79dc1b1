"""Identifiers given on the command line: validated, never formatted into SQL raw."""

from __future__ import annotations

import re

from loader.errors import ConfigError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def validate_identifier(value: str, what: str) -> str:
    """Accept plain identifiers only (letters, digits, underscore; at most 64)."""
    if not _IDENTIFIER.match(value):
        raise ConfigError(
            f"{what} {value!r} is not a plain identifier (letters, digits, underscore; max 64)"
        )
    return value
