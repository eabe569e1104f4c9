"""Field types the API's schemas share, each with the limits it declares in the OpenAPI document and enforces.

- `Amount`: a decimal in major units (`"19.99"`, or a JSON number read as an exact decimal), strictly between
  -MAX_AMOUNT and MAX_AMOUNT (refunddesk.core.money.MAX_AMOUNT, 10^13: far above any real payment, far below
  what a 64-bit column of minor units holds). Currency rules (decimals, sign) are checked by the services.
- `Timestamp`: an RFC 3339 date-time in the years 1970 to 2999, so that every computation on it (UTC
  conversion, deadlines, periods added) stays within Python's and the databases' range.
- `BigId`: a database id in a path (1 to 2^63 - 1, a 64-bit signed column).
- `text(n)`: a string of at most n characters (the model column's length where there is one).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from refunddesk.core.money import MAX_AMOUNT

MIN_YEAR, MAX_YEAR = 1970, 2999
BIG_ID_MAX = 2**63 - 1
LONG_TEXT = 5000  # descriptions, messages, reasons: as the portal's and console's forms

Amount = Annotated[Decimal, Field(
    gt=-MAX_AMOUNT, lt=MAX_AMOUNT,
    description='a decimal in major units, e.g. "19.99" (a string, or a JSON number read as an exact decimal); '
                "less than 10^13 in size",
)]


def _in_range(value: dt.datetime) -> dt.datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    try:
        if value.tzinfo is not None:
            value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    return value


Timestamp = Annotated[dt.datetime, AfterValidator(_in_range), Field(
    description=f"RFC 3339 date and time with an offset, e.g. 2026-03-01T10:00:00+08:00 (years {MIN_YEAR}-{MAX_YEAR})",
)]

def _day_in_range(value: dt.date) -> dt.date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    return value


Day = Annotated[dt.date, AfterValidator(_day_in_range), Field(
    description=f"a calendar day, YYYY-MM-DD (years {MIN_YEAR}-{MAX_YEAR}), in the merchant's time zone",
)]

BigId = Annotated[int, Field(ge=1, le=BIG_ID_MAX)]


def text(max_length: int, default: Any = ..., **kwargs: Any) -> Any:
    """`Field(default, max_length=max_length)`: a string field of at most `max_length` characters."""
    return Field(default, max_length=max_length, **kwargs)
