"""Exact money: integer minor units plus an ISO 4217 currency.

Arithmetic happens in Decimal; a value becomes Money only through `Money.from_decimal`,
which refuses more precision than the currency has, or through `Money.rounded`, which
rounds once, half-up ("round half away from zero"), to the currency's minor unit.
Exponents and symbols come from Babel's CLDR data, never from a hand-written table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision, list_currencies

from refunddesk.core.errors import ValidationError

ROUNDING = ROUND_HALF_UP
ROUNDING_DESCRIPTION = "half-up to the currency's minor unit (0.005 CNY -> 0.01 CNY; JPY to whole yen)"

# Babel knows historic and fund codes too; these are not legal tender for a sale.
_NOT_TENDER = {"XAU", "XAG", "XPD", "XPT", "XTS", "XXX", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"}

# The largest amount in major units (exclusive) refunddesk takes: far above any real payment, and in minor units
# (up to 3 decimals) far below the 64-bit columns that store it, so sums of refunds cannot overflow them.
MAX_AMOUNT = Decimal(10) ** 13


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(code for code in list_currencies() if len(code) == 3 and code not in _NOT_TENDER)


def validate_currency(code: str, *, field: str = "currency") -> str:
    if not isinstance(code, str) or code.upper() not in _currencies() or code != code.upper():
        raise ValidationError(
            f"'{code}' is not an ISO 4217 currency code; use three capital letters such as CNY, USD or JPY.",
            field=field,
        )
    return code


@lru_cache(maxsize=512)
def exponent(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit (CNY 2, JPY 0, KWD 3)."""
    validate_currency(currency)
    return get_currency_precision(currency)


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse a decimal string/int/Decimal. Floats are refused: they are not exact."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationError("give the amount as a decimal string such as \"19.99\", not a float.", field=field)
    try:
        result = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationError(f"'{value}' is not a number; give it like \"19.99\".", field=field) from None
    if not result.is_finite():
        raise ValidationError(f"'{value}' is not a finite amount.", field=field)
    return result


@dataclass(frozen=True, slots=True, order=False)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int of minor units")
        exponent(self.currency)

    # --- construction -----------------------------------------------------
    @classmethod
    def from_decimal(cls, value: object, currency: str, *, field: str = "amount", allow_negative: bool = False) -> Money:
        """Exact conversion: refuses more decimals than the currency has."""
        validate_currency(currency)
        amount = to_decimal(value, field=field)
        if amount < 0 and not allow_negative:
            raise ValidationError(f"{amount} is negative; amounts must be zero or more.", field=field)
        if abs(amount) >= MAX_AMOUNT:
            raise ValidationError(f"{amount} is too large; amounts must be less than 10^13.", field=field)
        exp = exponent(currency)
        scaled = amount.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise ValidationError(
                f"{amount} has more decimals than {currency} allows ({exp}); round it to {exp} places.",
                field=field,
            )
        return cls(int(scaled), currency)

    @classmethod
    def rounded(cls, value: Decimal, currency: str) -> Money:
        """Round a computed Decimal once, half-up, to the currency's minor unit."""
        exp = exponent(currency)
        return cls(int(Decimal(value).scaleb(exp).quantize(Decimal(1), rounding=ROUNDING)), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    # --- views --------------------------------------------------------------
    @property
    def amount(self) -> Decimal:
        """The value in major units, exactly (Decimal('19.99'))."""
        exp = exponent(self.currency)
        return Decimal(self.minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def format(self, language: str = "en") -> str:
        """Formatted for people in their language: 'CN¥19.99' / '¥19.99' / '¥1,200'."""
        return format_currency(self.amount, self.currency, locale=babel_locale(language))

    def as_json(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}

    # --- arithmetic ---------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            return NotImplemented  # type: ignore[return-value]
        if other.currency != self.currency:
            raise ValidationError(f"cannot combine {self.currency} with {other.currency}.", field="currency")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def min(self, other: Money) -> Money:
        return self if self <= other else other


def babel_locale(language: str) -> str:
    """Django language code -> Babel locale ('zh-hans' -> 'zh_Hans_CN')."""
    lang = (language or "en").lower()
    if lang.startswith("zh"):
        return "zh_Hans_CN"
    return "en_US"
