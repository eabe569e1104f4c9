"""The facts a policy may read: contract v1 (docs/architecture.md, "Policy facts (contract v1)").

The contract is declared once here, as data: each fact has a name, a kind, a meaning in
English and Chinese, and (for strings with a fixed vocabulary) the values it may take.
The engine derives the CEL variable declarations from this table, so compile-time type
checking catches unknown facts and type mismatches.

How each kind reaches CEL (the representation the policy author writes against):

    kind        JSON input                      CEL type     CEL value
    ---------   ------------------------------  -----------  ----------------------------------
    string      "web"                           string       the string
    bool        true                            bool         the bool
    int         14                              int          the int
    double      72.5 or "72.5"                  double       the float
    timestamp   "2025-03-01T10:00:00+08:00"     timestamp    an aware datetime
    money       "30.00" (major units)           int          integer MINOR units of order.currency
                                                             ("30.00" CNY -> 3000, "1200" JPY -> 1200)
    decimal     "3.5" (not money)               double       the float (exact for the short decimals
                                                             facts carry; the amount functions turn it
                                                             back into a Decimal, see amounts.py)

Input may be flat ({"order.amount": "30.00"}) or nested ({"order": {"amount": "30.00"}}).
Names that are not in the contract are ignored (the contract may grow); a fact the policy
reads that is missing, null or of the wrong type is an error that names the fact.

`reference_convert` defines the conversion in plain code (a converter per kind, below); the engine
runs fast_facts.Converter, generated per policy for speed and held equal to it by a property test.
How facts are shown to people (`display`, `fact_formatter`) is at the end; money is written by
money_text.py.

This module is pure: no Django.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from refunddesk.core.errors import ValidationError
from refunddesk.core.i18n import is_zh
from refunddesk.core.money import Money, exponent, to_decimal, validate_currency
from refunddesk.core.vocabulary import PAYMENT_METHODS, REASONS, SALES_CHANNELS
from refunddesk.core.vocabulary import STORE_CHANNELS as STORE_CHANNELS  # the contract's name, re-exported
from refunddesk.policies.money_text import format_minor, format_money

CONTRACT_VERSION = 1

KINDS = ("string", "bool", "int", "double", "timestamp", "money", "decimal")


class EvaluationError(ValidationError):
    """A decision could not be made from these facts with this policy (never a silent false)."""

    code = "policy_evaluation"

    def __init__(self, message: Any, *, clause: str | None = None, fact: str | None = None, **extra: Any):
        super().__init__(message, **extra)
        self.clause = clause
        self.fact = fact


class FactError(EvaluationError):
    """A fact the policy reads is missing or is not of the type the contract declares."""

    code = "policy_fact"


@dataclass(frozen=True, slots=True)
class FactSpec:
    """One fact of the contract: its dotted `name`, its `kind` (KINDS), its meaning in English and
    Chinese, its vocabulary (`choices`, for strings) and its range (`minimum`, `maximum`, for numbers)."""

    name: str
    kind: str
    en: str
    zh: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def type_description(self) -> str:
        """What the fact is given as, for error messages ("decimal string in major units ...")."""
        if self.kind == "money":
            return "decimal string in major units (CEL: int of minor units)"
        if self.kind == "decimal":
            return "decimal string (CEL: double)"
        if self.kind == "timestamp":
            return "RFC 3339 timestamp with a UTC offset"
        return self.kind

    def label(self, lang: str) -> str:
        """The fact's meaning in `lang` (zh* is Chinese, anything else English)."""
        return self.zh if is_zh(lang) else self.en


#: The vocabularies of contract v1 (request.reason, order.sales_channel, order.payment_method), and the
#: sales channels whose purchases only the store that sold them can refund (seed 000 FAQ Q2: a policy's store
#: rule, schema.py `store_purchases`, sends them there before any clause is tried). Declared once in
#: core.vocabulary (plain Python), where the Django choices of billing and refunds are built from them too.

FACTS: dict[str, FactSpec] = {
    spec.name: spec
    for spec in (
        FactSpec("now", "timestamp", "the time of the decision", "作出决定的时间"),
        FactSpec("request.reason", "string", "the reason given", "申请理由", REASONS),
        FactSpec("request.submitted_at", "timestamp", "when the request was submitted", "提交申请的时间"),
        FactSpec("customer.region", "string", "the customer's region", "用户所在区域"),
        FactSpec("customer.new", "bool", "this is the customer's first paid order", "这是用户的首个付费订单"),
        FactSpec(
            "customer.tos_violation",
            "bool",
            "the account was ended or flagged for breaking the terms",
            "账户因违反用户协议被终止或标记",
        ),
        FactSpec(
            "customer.refunds_last_year",
            "int",
            "refunds granted in the last 365 days",
            "过去365天内获得的退款次数",
            minimum=0,
        ),
        FactSpec(
            "customer.refunded_share",
            "double",
            "the share of the customer's paid orders of the last 365 days that were refunded (0 to 1)",
            "过去365天内用户已付款订单中获得退款的比例（0至1）",
            minimum=0,
            maximum=1,
        ),
        FactSpec("order.id", "string", "the order number", "订单号"),
        FactSpec("order.currency", "string", "the currency of the order", "订单币种"),
        FactSpec("order.amount", "money", "the amount paid", "支付金额"),
        FactSpec("order.refunded", "money", "the amount already refunded on this order", "该订单已退款金额"),
        FactSpec("order.purchased_at", "timestamp", "when the order was bought", "购买时间"),
        FactSpec("order.sales_channel", "string", "where the order was bought", "购买渠道", SALES_CHANNELS),
        FactSpec("order.payment_method", "string", "how the order was paid", "支付方式", PAYMENT_METHODS),
        FactSpec(
            "order.promotional",
            "bool",
            "the order was sold at a promotional or discounted price",
            "以特价或折扣价售出",
        ),
        FactSpec(
            "order.refundable",
            "bool",
            'the product was not sold as "no refunds"',
            "该产品未标注“不支持退款”",
        ),
        FactSpec("order.channel_fee", "money", "the fee the payment channel kept", "支付通道手续费"),
        FactSpec("plan.id", "string", "the plan", "套餐"),
        FactSpec(
            "plan.period_days",
            "int",
            "the length of one paid period in days",
            "一个付费周期的天数",
            minimum=1,
        ),
        FactSpec(
            "plan.refund_window_days",
            "int",
            "the days after purchase in which requests are accepted",
            "购买后可申请退款的天数",
            minimum=0,
        ),
        FactSpec(
            "plan.trial_hours",
            "int",
            "the new-customer trial window in hours",
            "新用户体验期（小时）",
            minimum=0,
        ),
        FactSpec(
            "usage.days_used", "decimal", "the days of the period already used", "本周期已使用天数", minimum=0
        ),
        FactSpec("usage.paid_features_used", "bool", "paid features have been used", "已使用付费功能"),
        FactSpec(
            "usage.quota_used_ratio",
            "double",
            "the share of the plan's quota consumed (0 to 1)",
            "已消耗的套餐额度比例（0至1）",
            minimum=0,
            maximum=1,
        ),
        FactSpec(
            "usage.since_request_days",
            "decimal",
            "the days of service used since the request was submitted",
            "提交申请后继续使用服务的天数",
            minimum=0,
        ),
        FactSpec(
            "usage.since_request_quota_ratio",
            "double",
            "the share of the plan's quota consumed since the request was submitted (0 to 1)",
            "提交申请后消耗的套餐额度比例（0至1）",
            minimum=0,
            maximum=1,
        ),
        FactSpec(
            "support.contacted",
            "bool",
            "the customer asked support about this problem first",
            "用户已先就此问题联系客服",
        ),
        FactSpec("support.resolved", "bool", "support solved the problem", "客服已解决该问题"),
        FactSpec(
            "outage.longest_hours",
            "double",
            "the longest continuous outage in the customer's region since purchase, in hours",
            "购买以来用户所在区域最长的连续中断时长（小时）",
            minimum=0,
        ),
        FactSpec(
            "outage.force_majeure", "bool", "that outage was caused by force majeure", "该中断由不可抗力造成"
        ),
        FactSpec("charge.duplicate", "bool", "this payment repeats another", "该笔付款为重复扣款"),
        FactSpec(
            "charge.erroneous", "bool", "the amount differs from the price due", "扣款金额与应付价格不符"
        ),
    )
}

MONEY_FACTS = tuple(name for name, spec in FACTS.items() if spec.kind == "money")

# Short words for a figure inside a refund computation (the `{computation}` placeholder, see
# computation.py): in English they follow the figure ("CN¥10.00 already refunded"), in Chinese
# they come before it ("已退款 ¥10.00"). A fact without one is shown with its meaning instead.
TERMS: dict[str, tuple[str, str]] = {
    "order.amount": ("paid", "支付金额"),
    "order.refunded": ("already refunded", "已退款"),
    "order.channel_fee": ("payment channel fee", "支付通道手续费"),
    "customer.refunds_last_year": ("refunds in the last year", "过去一年退款次数"),
    "plan.period_days": ("days in the period", "本周期天数"),
    "plan.refund_window_days": ("days of refund window", "退款时限天数"),
    "plan.trial_hours": ("trial hours", "体验期小时数"),
    "usage.days_used": ("days used", "已使用天数"),
    "usage.quota_used_ratio": ("of the quota used", "已用额度比例"),
    "outage.longest_hours": ("hours of outage", "连续中断小时数"),
}

# People-facing words for the fixed vocabularies, used when an explanation quotes them.
CHOICE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "order.sales_channel": {
        "web": ("our website", "官网"),
        "app_store": ("the Apple App Store", "苹果 App Store"),
        "google_play": ("Google Play", "Google Play"),
        "reseller": ("a reseller", "经销商"),
    },
    "order.payment_method": {
        "card": ("card", "银行卡"),
        "alipay": ("Alipay", "支付宝"),
        "wechat_pay": ("WeChat Pay", "微信支付"),
        "paypal": ("PayPal", "PayPal"),
        "bank_transfer": ("bank transfer", "银行转账"),
        "other": ("another payment method", "其他支付方式"),
    },
    "request.reason": {
        "technical_issue": ("a technical problem", "技术问题"),
        "service_outage": ("a service outage", "服务中断"),
        "not_satisfied": ("not satisfied with the service", "对服务不满意"),
        "duplicate_charge": ("a duplicate charge", "重复扣款"),
        "wrong_charge": ("a wrong charge", "错误扣款"),
        "changed_mind": ("a change of mind", "改变主意"),
        "emergency": ("an emergency", "紧急情况"),
        "other": ("another reason", "其他原因"),
    },
}


# --- conversion: JSON-ish values -> CEL values --------------------------------------------
#
# Written for speed (the engine converts every request's facts; see bench/policy_eval.py):
# one small function per kind, exact type checks first, the general paths only when needed.


def flatten(raw: Mapping[str, Any]) -> dict[str, Any]:
    """{"order": {"amount": "1"}} -> {"order.amount": "1"}; flat dotted keys pass through."""
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping):
            for sub_key, sub_value in flatten(value).items():
                flat[f"{key}.{sub_key}"] = sub_value
        else:
            flat[key] = value
    return flat


def _wrong(spec: FactSpec, value: Any, hint: str = "") -> FactError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    message = f"fact '{spec.name}' must be {spec.type_description}, got {type(value).__name__} {shown}"
    if hint:
        message += f" ({hint})"
    return FactError(message, fact=spec.name)


def _check_range(spec: FactSpec, number: float | int | Decimal, value: Any) -> None:
    if spec.minimum is not None and number < spec.minimum:
        raise _wrong(spec, value, f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and number > spec.maximum:
        raise _wrong(spec, value, f"must be at most {spec.maximum:g}")


def parse_timestamp(value: Any) -> datetime:
    """RFC 3339 string (or aware datetime) -> aware datetime. Naive times are refused."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("z", "Z"):
            text = text[:-1] + "+00:00"
        if len(text) < 16 or text[10:11] not in ("T", "t", " "):
            raise ValueError("not an RFC 3339 date-time")
        result = datetime.fromisoformat(text)
    else:
        raise TypeError("not a timestamp")
    if result.tzinfo is None or result.utcoffset() is None:
        raise ValueError("it has no UTC offset; add Z or +08:00")
    return result


def _bool(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    if value is True or value is False:
        return value, value
    raise _wrong(spec, value)


def _string(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    if type(value) is not str:
        if not isinstance(value, str):
            raise _wrong(spec, value)
        value = str(value)
    if spec.choices and value not in spec.choices:
        raise _wrong(spec, value, "one of " + ", ".join(spec.choices))
    return value, value


#: Currency codes already validated (then a set lookup per decision, in fast_facts.py).
known_currencies: set[str] = set()


def _currency(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    _string(spec, value, None)
    try:
        validate_currency(value)
    except ValidationError as exc:
        raise FactError(f"fact 'order.currency': {exc.message}", fact=spec.name) from None
    known_currencies.add(value)
    return value, value


def _int(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    if type(value) is not int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _wrong(spec, value)
        value = int(value)
    _check_range(spec, value, value)
    return value, value


def _double(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)
    elif isinstance(value, bool):
        raise _wrong(spec, value)
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str | Decimal):
        try:
            number = float(Decimal(str(value).strip()))
        except ArithmeticError:
            raise _wrong(spec, value) from None
    else:
        raise _wrong(spec, value)
    if not math.isfinite(number):
        raise _wrong(spec, value, "must be finite")
    _check_range(spec, number, value)
    return number, number


def _timestamp(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    if type(value) is str and len(value) >= 20 and value[10] == "T":
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is not None and stamp.tzinfo is not None:
            return stamp, stamp
    try:
        stamp = parse_timestamp(value)
    except (TypeError, ValueError) as exc:
        raise _wrong(spec, value, str(exc)) from None
    return stamp, stamp


def _decimal(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    if isinstance(value, bool):
        raise _wrong(spec, value)
    if isinstance(value, float):
        value = repr(value)
    try:
        number = to_decimal(value, field=spec.name)
    except ValidationError:
        raise _wrong(spec, value) from None
    _check_range(spec, number, value)
    return float(number), number


def _money(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    if currency is None:  # order.currency is missing: that is reported once all facts are read
        return 0, None
    if type(value) is str:
        try:
            number = Decimal(value)
        except ArithmeticError:
            number = None
        if number is not None and number.is_finite() and number >= 0:
            exp = exponent(currency)
            scaled = number.scaleb(exp)
            if scaled == scaled.to_integral_value():
                return int(scaled), None
    try:  # the general path, with Money's own messages (floats, negatives, too many decimals)
        money = Money.from_decimal(value, currency, field=spec.name)
    except ValidationError as exc:
        raise FactError(f"fact '{spec.name}': {exc.message}", fact=spec.name) from None
    return money.minor, None


def _not_null(fn: Callable[[FactSpec, Any, str | None], tuple[Any, Any]]) -> Callable[..., tuple[Any, Any]]:
    def convert(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
        if value is None:
            raise FactError(f"fact '{spec.name}' is null; give it as {spec.type_description}", fact=spec.name)
        return fn(spec, value, currency)

    return convert


#: The converter of each fact kind, plus "currency" for order.currency (a string checked against ISO 4217):
#: converter(spec, value, currency) -> (the CEL value, the exact value or None); a null or unusable value
#: raises FactError naming the fact. `currency` is order.currency (None while it is unknown).
CONVERTERS: dict[str, Callable[[FactSpec, Any, str | None], tuple[Any, Any]]] = {
    kind: _not_null(fn)
    for kind, fn in {
        "bool": _bool,
        "string": _string,
        "int": _int,
        "double": _double,
        "timestamp": _timestamp,
        "decimal": _decimal,
        "money": _money,
        "currency": _currency,
    }.items()
}


class Facts:
    """Converted facts. `cel` feeds the CEL activation (money as int minor units, decimals as
    float) and holds the facts conditions read; `more` the same for facts only amounts and
    explanations read (CEL is not given them: each fact costs it time); `extra` the exact
    values where they differ (decimals). `value(name)` gives the exact Python value (Money,
    Decimal, aware datetime...), `raw(name)` the CEL-style one."""

    __slots__ = ("cel", "extra", "more")

    def __init__(self, cel: dict[str, Any], extra: dict[str, Any], more: dict[str, Any] | None = None):
        self.cel = cel
        self.extra = extra
        self.more = more or {}

    def raw(self, name: str) -> Any:
        """The CEL-style value of fact `name` (money as an int of minor units, a decimal as a float).
        Raises KeyError for a fact that was not converted."""
        found = self.cel.get(name, MISSING)
        return self.more[name] if found is MISSING else found

    @property
    def currency(self) -> str:
        """order.currency."""
        return self.raw("order.currency")

    def value(self, name: str) -> Any:
        """The exact Python value of fact `name`: Money for money, Decimal for a decimal, else as raw()."""
        found = self.extra.get(name, MISSING)
        if found is not MISSING:
            return found
        if FACTS[name].kind == "money":
            return Money(self.raw(name), self.raw("order.currency"))
        return self.raw(name)

    @property
    def values(self) -> dict[str, Any]:
        """Every converted fact by name, as value() gives it."""
        return {name: self.value(name) for name in (*self.cel, *self.more)}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Facts)
            and self.cel == other.cel
            and self.extra == other.extra
            and self.more == other.more
        )

    def __repr__(self) -> str:
        return f"Facts({self.values!r})"


#: What a lookup answers for a fact that is not in the input at all (None is a fact given as null).
MISSING: Any = object()


def lookup_nested(raw: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """raw[parts[0]][parts[1]]... through nested mappings, or MISSING."""
    value: Any = raw
    for part in parts:
        value = value.get(part, MISSING) if isinstance(value, Mapping) else MISSING
    return value


def lookup(raw: Mapping[str, Any], name: str) -> Any:
    """The value of fact `name` in JSON-style input: nested ({"order": {"amount": ...}}) first,
    then flat ("order.amount"); MISSING when neither is there."""
    value = lookup_nested(raw, tuple(name.split(".")))
    return raw.get(name, MISSING) if value is MISSING else value


def reading_order(names: Iterable[str]) -> tuple[str, ...]:
    """The facts a converter reads, in this order: order.currency first (money needs it; money facts
    bring it), then `names` as given, each once. Raises KeyError for a name not in the contract."""
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in FACTS]
    if unknown:
        raise KeyError(f"not facts of contract v{CONTRACT_VERSION}: {', '.join(unknown)}")
    if any(FACTS[name].kind == "money" for name in wanted) and "order.currency" not in wanted:
        wanted.append("order.currency")
    if "order.currency" in wanted:
        wanted.remove("order.currency")
        wanted.insert(0, "order.currency")
    return tuple(wanted)


def missing_facts_error(missing: list[str]) -> FactError:
    """The FactError for facts absent from the input: all of them named, with their types."""
    described = ", ".join(f"'{name}' ({FACTS[name].type_description})" for name in missing)
    noun = "fact" if len(missing) == 1 else "facts"
    return FactError(f"missing {noun}: {described}", fact=missing[0])


def reference_convert(raw: Mapping[str, Any], names: Iterable[str], for_cel: Iterable[str] | None = None) -> Facts:
    """Convert the facts `names` of JSON-style input `raw`, the plain way: the definition of conversion.

    For each fact in `reading_order(names)`: look it up (`lookup`); if absent, note it; otherwise
    convert it with its kind's converter (CONVERTERS; order.currency with "currency"), which raises
    FactError at the first value that is null or unusable. Facts in `for_cel` (default: all) go to
    `Facts.cel`, the others to `Facts.more`; decimals also keep their exact value in `Facts.extra`.
    At the end, absent facts raise one FactError naming them all.

    The engine uses fast_facts.Converter, generated for speed; tests hold the two equal.
    """
    ordered = reading_order(names)
    to_cel = frozenset(ordered if for_cel is None else for_cel)
    cel: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    more: dict[str, Any] = {}
    missing: list[str] = []
    currency = None
    for name in ordered:
        value = lookup(raw, name)
        if value is MISSING:
            missing.append(name)
            continue
        spec = FACTS[name]
        converter = CONVERTERS["currency" if name == "order.currency" else spec.kind]
        converted, exact = converter(spec, value, currency)
        if name == "order.currency":
            currency = converted
        (cel if name in to_cel else more)[name] = converted
        if spec.kind == "decimal":
            extra[name] = exact
    if missing:
        raise missing_facts_error(missing)
    return Facts(cel, extra, more)


def convert(raw: Mapping[str, Any], names: Iterable[str] | None = None) -> Facts:
    """Convert the facts named in `names` (default: all of contract v1) from JSON-ish values.

    Every name must be present (flat "order.amount" or nested {"order": {"amount": ...}});
    all missing names are reported together. Money facts bring order.currency with them.
    Raises FactError. (The plain converter: `reference_convert`.)
    """
    return reference_convert(raw, FACTS if names is None else names)


# --- showing facts to people --------------------------------------------------------------


#: Facts that are shares of a whole (0..1): people read them as percentages.
SHARES = frozenset({"usage.quota_used_ratio", "usage.since_request_quota_ratio", "customer.refunded_share"})


def number_text(number: float | int | Decimal) -> str:
    """A number as people read it in English and Chinese alike: thousands grouped, a measured double
    (hours of outage, computed from timestamps) rounded to one decimal (80.13053 -> "80.1", 72.0 -> "72"),
    a decimal the merchant sent (days used) as given without trailing zeros ("3.50" -> "3.5")."""
    if isinstance(number, float):
        if not math.isfinite(number):
            return str(number)
        text = f"{round(number, 1):,.1f}"
        return text[:-2] if text.endswith(".0") else text
    if isinstance(number, int):
        return f"{number:,}"
    text = format(number.normalize(), ",f")
    return text


def share_text(share: float | Decimal) -> str:
    """A share of a whole (0..1) as a percentage for people: 0.35 -> "35%", 0.3333 -> "33.3%", 1 -> "100%"."""
    return number_text(float(share) * 100) + "%"


#: The time zone dates are shown in to people (the merchant's; refunddesk.policies.apps sets it from
#: settings.TIME_ZONE; the engine alone shows UTC).
DISPLAY_TIME_ZONE: Any = UTC
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def set_display_time_zone(zone: Any) -> None:
    """Show dates in `zone` (a tzinfo) from now on."""
    global DISPLAY_TIME_ZONE
    DISPLAY_TIME_ZONE = zone


def date_text(stamp: datetime, zh: bool) -> str:
    """The calendar day of `stamp` in the merchant's time zone, as the pages write a day (CLDR's long date,
    as Babel gives it for en_US and zh_Hans_CN: refunddesk.core.dates.format_date): "March 5, 2025" /
    "2025年3月5日" (an explanation says on which day something happened, not at which second, in UTC)."""
    d = stamp.astimezone(DISPLAY_TIME_ZONE)
    return f"{d.year}年{d.month}月{d.day}日" if zh else f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def display(name: str, value: Any, lang: str) -> str:
    """A fact's value as a person would read it in an explanation."""
    spec = FACTS[name]
    zh = is_zh(lang)
    kind = spec.kind
    if kind == "money":
        return format_money(value, lang)
    if kind == "bool":
        if zh:
            return "是" if value else "否"
        return "yes" if value else "no"
    if kind == "timestamp":
        return date_text(value, zh)
    if name in SHARES:
        return share_text(value)
    if kind in ("int", "double", "decimal"):
        return number_text(value)
    labels = CHOICE_LABELS.get(name)
    if labels and value in labels:
        return labels[value][1 if zh else 0]
    return str(value)


def fact_formatter(name: str, lang: str) -> Callable[[Facts], str]:
    """A function that shows fact `name` of converted Facts in `lang`, the way `display` does;
    built once per explanation placeholder so rendering does no dispatching per decision."""
    spec = FACTS[name]
    zh = is_zh(lang)
    kind = spec.kind
    if kind == "money":
        return lambda facts: format_minor(facts.raw(name), facts.raw("order.currency"), zh)
    if kind == "bool":
        yes, no = ("是", "否") if zh else ("yes", "no")
        return lambda facts: yes if facts.raw(name) else no
    if kind == "timestamp":
        return lambda facts: date_text(facts.raw(name), zh)
    if name in SHARES:
        return lambda facts: share_text(facts.raw(name))
    if kind == "int":
        return lambda facts: f"{facts.raw(name):,}"
    if kind == "double":
        return lambda facts: number_text(facts.raw(name))
    if kind == "decimal":
        return lambda facts: number_text(facts.value(name))
    labels = {value: pair[1 if zh else 0] for value, pair in CHOICE_LABELS.get(name, {}).items()}
    return lambda facts: labels.get(facts.raw(name), facts.raw(name))
