"""One money formatter: for every currency Babel knows and both languages, money_text writes exactly what
Babel's format_currency (and so Money.format) writes, and its plain style is str(Money). Pure tests."""

from __future__ import annotations

import pytest
from babel.numbers import format_currency, list_currencies
from hypothesis import given, settings
from hypothesis import strategies as st

from refunddesk.core.errors import ValidationError
from refunddesk.core.money import Money, babel_locale, validate_currency
from refunddesk.policies.money_text import format_minor, format_minor_pair, format_money, plain


def _accepted(code: str) -> bool:
    try:
        validate_currency(code)
    except ValidationError:
        return False
    return True


CURRENCIES = sorted(code for code in list_currencies() if _accepted(code))  # every currency refunddesk takes
AMOUNTS = (0, 1, 5, 99, 100, 1234, 123456, 1000000, 123456789012, -1, -8, -123456)


def test_every_currency_is_checked():
    assert len(CURRENCIES) > 150 and {"CNY", "JPY", "KWD", "CLF", "USD"} <= set(CURRENCIES)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_formatter_agrees_with_babel(currency):
    for minor in AMOUNTS:
        money = Money(minor, currency)
        en = format_currency(money.amount, currency, locale=babel_locale("en"))
        zh = format_currency(money.amount, currency, locale=babel_locale("zh-Hans"))
        assert (format_minor(minor, currency, False), format_minor(minor, currency, True)) == (en, zh)
        assert format_minor_pair(minor, currency) == (en, zh)
        assert (format_money(money, "en"), format_money(money, "zh-Hans"), format_money(money, "zh-hans")) == (en, zh, zh)
        assert (money.format("en"), money.format("zh-Hans")) == (en, zh)
        assert plain(minor, currency) == str(money)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(CURRENCIES))
@settings(max_examples=300, deadline=None)
def test_any_amount_agrees_with_babel(minor, currency):
    money = Money(minor, currency)
    assert format_minor_pair(minor, currency) == (money.format("en"), money.format("zh-Hans"))
    assert plain(minor, currency) == str(money)


def test_examples():
    assert format_minor_pair(3000, "CNY") == ("CN¥30.00", "¥30.00")
    assert format_minor_pair(120000, "JPY") == ("¥120,000", "JP¥120,000")
    assert format_minor(-8, "CNY", False) == "-CN¥0.08"
    assert plain(2700, "CNY") == "27.00 CNY" and plain(1234, "KWD") == "1.234 KWD" and plain(-5, "JPY") == "-5 JPY"
