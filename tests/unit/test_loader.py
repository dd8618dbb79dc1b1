"""The loader's own behaviour: windows, extracts, manifests, loads and their refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from loader.dates import Window, day_range, parse_date, parse_lookback
from loader.errors import ConfigError, redact, register_secret
from loader.settings import source_spec

D = dt.date(2021, 9, 16)


def test_window_is_half_open_with_lookback_at_microsecond_precision() -> None:
    window = Window.for_day(D, parse_lookback("1h"))
    assert window.start == dt.datetime(2021, 9, 15, 23, 0)
    assert window.end == dt.datetime(2021, 9, 17, 0, 0)
    assert Window.for_day(D, parse_lookback("0")).start == dt.datetime(2021, 9, 16)


@pytest.mark.parametrize("bad", ["2021-13-45", "2021-02-30", "16/09/2021", "yesterday", ""])
def test_malformed_dates_name_the_flag(bad: str) -> None:
    with pytest.raises(ConfigError, match="--date"):
        parse_date(bad, "--date")


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ConfigError, match="before --start"):
        list(day_range(dt.date(2021, 9, 2), dt.date(2021, 9, 1)))


def test_lookback_needs_a_unit() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 90m or 90s\?"):
        parse_lookback("90")
    assert parse_lookback("90m") == dt.timedelta(minutes=90)
    assert parse_lookback("2d") == dt.timedelta(days=2)
    assert parse_lookback("0") == dt.timedelta(0)


@pytest.mark.parametrize("bad", ["1x", "-1h", "h", "1.5h"])
def test_malformed_lookback(bad: str) -> None:
    with pytest.raises(ConfigError, match="--lookback"):
        parse_lookback(bad)


@pytest.mark.parametrize("table", ["nps; drop table nps", "nps`", 'nps"', "a b", "1nps", "x" * 65])
def test_identifiers_that_try_injection_are_refused(table: str) -> None:
    with pytest.raises(ConfigError, match="not a plain identifier"):
        source_spec("sqlite:///x.db", source_table=table)


def test_passwords_are_redacted_from_messages() -> None:
    register_secret("hunter2-sentinel")
    assert "hunter2" not in redact("login failed for hunter2-sentinel")
    assert redact("mysql://reader:pa55word@db:3306/prod") == "mysql://reader:***@db:3306/prod"
