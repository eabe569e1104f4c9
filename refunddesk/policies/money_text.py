"""Money as text: the one formatter the policy engine uses, for people and for traces.

Two styles, one implementation (`format_minor` and its helpers below):

* for people, in English or Chinese: exactly what Babel's `format_currency` (and so
  `Money.format`) writes for that currency and language, from CLDR ("CN¥1,234.56" / "¥1,234.56",
  "¥1,200" for JPY, "KWD 1.234" ...), but about 50 times faster: the currency's prefix, suffix and
  separators are read from Babel once per currency and language, then every amount is formatted
  with plain integer arithmetic (this runs for every approve decision's explanation);
* plain, for traces and logs: "27.00 CNY", exactly `str(Money)`, never grouped.

`format_money(money, lang)`, `format_minor(minor, currency, zh)`, `format_minor_pair(minor, currency)`
and `plain(minor, currency)` are views of the same `_Pattern`; tests/policies/test_money_text.py holds
them equal to Babel for every currency Babel knows and both languages.

Amounts are ints of minor units (3000 is 30.00 CNY, 1200 is 1,200 JPY). Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from refunddesk.core.i18n import is_zh
from refunddesk.core.money import Money, babel_locale, exponent

__all__ = ["format_minor", "format_minor_pair", "format_money", "plain"]


@dataclass(frozen=True, slots=True)
class _Pattern:
    """How one currency is written in one style: `prefix` + digits + `suffix`, the digits with
    `exp` decimals (`scale` is 10**exp), grouped by threes with `group` ("" for no grouping),
    `decimal` before the decimals."""

    prefix: str
    suffix: str
    exp: int
    scale: int
    group: str
    decimal: str

    def digits(self, minor: int) -> str:
        """The digits of `minor` (an int of minor units, 0 or more): "1,234.56" / "1234.56"."""
        exp = self.exp
        if exp:
            whole, part = divmod(minor, self.scale)
            body = f"{whole:,}.{part:0{exp}d}" if self.group else f"{whole}.{part:0{exp}d}"
        else:
            body = f"{minor:,}" if self.group else str(minor)
        if self.group not in ("", ",") or self.decimal != ".":
            body = body.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)
        return body

    def format(self, minor: int) -> str:
        """`minor` (an int of minor units, may be negative) in this pattern: "-" before the prefix."""
        if minor < 0:
            return f"-{self.prefix}{self.digits(-minor)}{self.suffix}"
        return f"{self.prefix}{self.digits(minor)}{self.suffix}"


_PATTERNS: dict[tuple[str, str], _Pattern] = {}


def _pattern(currency: str, style: str) -> _Pattern:
    """The pattern of `currency` in `style` ("en", "zh" or "plain"), read once and kept.

    For "en" and "zh" it is taken from Babel's CLDR data: a sample amount with every digit
    distinct (1,234,567.89) is formatted once, and the prefix, suffix and both separators are
    read off it. Raises ValidationError for a code that is not an ISO 4217 currency.
    """
    key = (currency, style)
    found = _PATTERNS.get(key)
    if found is not None:
        return found
    exp = exponent(currency)
    if style == "plain":
        found = _Pattern("", f" {currency}", exp, 10**exp, "", ".")
    else:
        from babel.numbers import format_currency

        sample = Decimal(1234567) + (Decimal(89) / Decimal(100) if exp else 0)
        if exp > 2:
            sample = Decimal("1234567." + "8" * exp)
        text = format_currency(sample, currency, locale=babel_locale("zh-Hans" if style == "zh" else "en"))
        start = text.index("1")
        end = max(text.rindex(ch) for ch in "0123456789" if ch in text) + 1
        digits = text[start:end]
        decimal = digits[-(exp + 1)] if exp else "."
        found = _Pattern(text[:start], text[end:], exp, 10**exp, digits[1], decimal)
    _PATTERNS[key] = found
    return found


def format_minor(minor: int, currency: str, zh: bool) -> str:
    """`minor` units of `currency` for people: Chinese (zh-Hans CLDR) when `zh`, else English (en_US).

    E.g. (3000, "CNY", False) -> "CN¥30.00"; (3000, "CNY", True) -> "¥30.00"; (-8, "CNY", False) -> "-CN¥0.08".
    Identical to Money(minor, currency).format(...). Raises ValidationError for an unknown currency.
    """
    found = _PATTERNS.get((currency, "zh" if zh else "en")) or _pattern(currency, "zh" if zh else "en")
    return found.format(minor)


def format_minor_pair(minor: int, currency: str) -> tuple[str, str]:
    """(English, Chinese) of `minor` units of `currency`: (format_minor(.., False), format_minor(.., True)).

    Explanations are rendered in both languages at once; this is the call they use."""
    en = _PATTERNS.get((currency, "en")) or _pattern(currency, "en")
    zh = _PATTERNS.get((currency, "zh")) or _pattern(currency, "zh")
    if en.group != zh.group or en.decimal != zh.decimal:
        return en.format(minor), zh.format(minor)
    sign = "-" if minor < 0 else ""
    body = en.digits(-minor if minor < 0 else minor)  # the same digits in both: formatted once
    return f"{sign}{en.prefix}{body}{en.suffix}", f"{sign}{zh.prefix}{body}{zh.suffix}"


def format_money(money: Money, lang: str) -> str:
    """`money` for people in `lang` (a language code; zh* is Chinese, anything else English):
    identical to money.format(lang), without Babel per call."""
    return format_minor(money.minor, money.currency, is_zh(lang))


def plain(minor: int, currency: str) -> str:
    """`minor` units of `currency` as "27.00 CNY" (ungrouped, "." before the decimals, the code after):
    identical to str(Money(minor, currency)); used in decision traces."""
    found = _PATTERNS.get((currency, "plain")) or _pattern(currency, "plain")
    return found.format(minor)
