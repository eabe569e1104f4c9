from decimal import Decimal

import pytest

from refunddesk.core.errors import ValidationError
from refunddesk.core.money import Money, exponent


def test_exponents_come_from_cldr():
    assert exponent("CNY") == 2
    assert exponent("USD") == 2
    assert exponent("JPY") == 0
    assert exponent("KWD") == 3


def test_from_decimal_is_exact_and_refuses_over_precision():
    assert Money.from_decimal("19.99", "CNY") == Money(1999, "CNY")
    assert Money.from_decimal("1200", "JPY") == Money(1200, "JPY")
    assert Money.from_decimal("1.234", "KWD") == Money(1234, "KWD")
    with pytest.raises(ValidationError) as err:
        Money.from_decimal("19.999", "CNY")
    assert err.value.field == "amount" and "2" in str(err.value)
    with pytest.raises(ValidationError):
        Money.from_decimal("1200.5", "JPY")


def test_negative_and_floats_are_refused():
    with pytest.raises(ValidationError, match="negative"):
        Money.from_decimal("-1.00", "CNY")
    with pytest.raises(ValidationError, match="float"):
        Money.from_decimal(19.99, "CNY")


def test_unknown_currency_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as err:
        Money.from_decimal("1.00", "XYZ")
    assert err.value.field == "currency"
    with pytest.raises(ValidationError):
        Money.from_decimal("1.00", "cny")


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        (Decimal("0.005"), "CNY", 1),  # half-up
        (Decimal("0.0049"), "CNY", 0),
        (Decimal("26.995"), "CNY", 2700),
        (Decimal("99.5"), "JPY", 100),
        (Decimal("99.49"), "JPY", 99),
        (Decimal("1.0005"), "KWD", 1001),
    ],
)
def test_rounding_is_half_up_per_currency(value, currency, minor):
    assert Money.rounded(value, currency).minor == minor


def test_amount_and_arithmetic_stay_exact():
    a = Money.from_decimal("0.10", "CNY")
    total = Money.zero("CNY")
    for _ in range(10):
        total = total + a
    assert total == Money(100, "CNY")
    assert total.amount == Decimal("1.00")
    assert str(Money(5, "JPY").amount) == "5"
    with pytest.raises(ValidationError):
        Money(1, "CNY") + Money(1, "USD")


def test_formatting_per_language():
    assert Money(123456, "CNY").format("zh-hans") == "¥1,234.56"
    assert Money(123456, "CNY").format("en") == "CN¥1,234.56"
    assert Money(1200, "JPY").format("en") == "¥1,200"
    assert Money(1999, "USD").format("en") == "$19.99"
