"""The facts a policy may read: contract v1 (docs: DESIGN.md, "Policy facts (contract v1)").

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
                                                             back into a Decimal, see engine.py)

Input may be flat ({"order.amount": "30.00"}) or nested ({"order": {"amount": "30.00"}}).
Names that are not in the contract are ignored (the contract may grow); a fact the policy
reads that is missing, null or of the wrong type is an error that names the fact.

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
    name: str
    kind: str
    en: str
    zh: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def type_description(self) -> str:
        if self.kind == "money":
            return "decimal string in major units (CEL: int of minor units)"
        if self.kind == "decimal":
            return "decimal string (CEL: double)"
        if self.kind == "timestamp":
            return "RFC 3339 timestamp with a UTC offset"
        return self.kind

    def label(self, lang: str) -> str:
        return self.zh if is_zh(lang) else self.en


_REASONS = (
    "technical_issue",
    "service_outage",
    "not_satisfied",
    "duplicate_charge",
    "wrong_charge",
    "changed_mind",
    "emergency",
    "other",
)
_CHANNELS = ("web", "app_store", "google_play", "reseller")
_METHODS = ("card", "alipay", "wechat_pay", "paypal", "bank_transfer", "other")

FACTS: dict[str, FactSpec] = {
    spec.name: spec
    for spec in (
        FactSpec("now", "timestamp", "the time of the decision", "作出决定的时间"),
        FactSpec("request.reason", "string", "the reason given", "申请理由", _REASONS),
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
        FactSpec("order.id", "string", "the order number", "订单号"),
        FactSpec("order.currency", "string", "the currency of the order", "订单币种"),
        FactSpec("order.amount", "money", "the amount paid", "支付金额"),
        FactSpec("order.refunded", "money", "the amount already refunded on this order", "该订单已退款金额"),
        FactSpec("order.purchased_at", "timestamp", "when the order was bought", "购买时间"),
        FactSpec("order.sales_channel", "string", "where the order was bought", "购买渠道", _CHANNELS),
        FactSpec("order.payment_method", "string", "how the order was paid", "支付方式", _METHODS),
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
            "新用户体验期(小时)",
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
            "已消耗的套餐额度比例(0至1)",
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
            "购买以来用户所在区域最长的连续中断时长(小时)",
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


_KNOWN_CURRENCIES: set[str] = set()  # validated once, then a set lookup per decision


def _currency(spec: FactSpec, value: Any, currency: str | None) -> tuple[Any, Any]:
    _string(spec, value, None)
    try:
        validate_currency(value)
    except ValidationError as exc:
        raise FactError(f"fact 'order.currency': {exc.message}", fact=spec.name) from None
    _KNOWN_CURRENCIES.add(value)
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


_CONVERTERS = {
    kind: _not_null(fn)
    for kind, fn in {
        "bool": _bool,
        "string": _string,
        "int": _int,
        "double": _double,
        "timestamp": _timestamp,
        "decimal": _decimal,
        "money": _money,
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
        found = self.cel.get(name, _MISSING)
        return self.more[name] if found is _MISSING else found

    @property
    def currency(self) -> str:
        return self.raw("order.currency")

    def value(self, name: str) -> Any:
        found = self.extra.get(name, _MISSING)
        if found is not _MISSING:
            return found
        if FACTS[name].kind == "money":
            return Money(self.raw(name), self.raw("order.currency"))
        return self.raw(name)

    @property
    def values(self) -> dict[str, Any]:
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


_MISSING = object()


def _fast_timestamp(value: Any) -> datetime | None:
    if value.__class__ is str and len(value) >= 20 and value[10] == "T":
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return None
        if stamp.tzinfo is not None:
            return stamp
    return None


def _fast_decimal(value: Any, minimum: float | None) -> Decimal | None:
    if value.__class__ is str:
        try:
            number = Decimal(value)
        except ArithmeticError:
            return None
        if number.is_finite() and (minimum is None or number >= minimum):
            return number
    return None


def _fast_minor(value: Any, exp: int) -> int | None:
    """ "30.00" -> 3000 (exp 2) for plain digit strings; None sends anything else to Money."""
    if value.__class__ is str:
        whole, dot, frac = value.partition(".")
        if (
            whole.isdigit()
            and whole.isascii()
            and len(frac) <= exp
            and (not dot or (frac.isdigit() and frac.isascii()))
        ):
            return int(whole) * 10**exp + (int(frac) * 10 ** (exp - len(frac)) if frac else 0)
    return None


class Converter:
    """Converts the facts one policy reads; built once per policy, called once per decision.

    This runs for every decision, so it is generated as straight-line Python for the policy's
    own facts (no loop, no dispatch): each fact is looked up flat ("order.amount") or nested
    ({"order": {"amount": ...}}), the usual JSON types are accepted inline, and anything else
    goes through the kind's converter above, which converts what it can (an int for a double,
    a datetime for a timestamp) and otherwise raises a FactError naming the fact. The names
    compiled into the code come from the contract (FACTS), never from the input.
    """

    __slots__ = ("names", "_fn", "source", "_for_cel")

    def __init__(self, names: Iterable[str], for_cel: Iterable[str] | None = None):
        """`names`: the facts to read; `for_cel`: those to hand to CEL (default: all)."""
        wanted = list(dict.fromkeys(names))
        self._for_cel = frozenset(wanted if for_cel is None else for_cel)
        unknown = [name for name in wanted if name not in FACTS]
        if unknown:
            raise KeyError(f"not facts of contract v{CONTRACT_VERSION}: {', '.join(unknown)}")
        if any(FACTS[name].kind == "money" for name in wanted) and "order.currency" not in wanted:
            wanted.append("order.currency")
        if "order.currency" in wanted:  # money needs the currency: read it first
            wanted.remove("order.currency")
            wanted.insert(0, "order.currency")
        self.names = tuple(wanted)
        self.source = self._generate()
        namespace: dict[str, Any] = {
            "_M": _MISSING,
            "_dict": dict,
            "_str": str,
            "_int": int,
            "_float": float,
            "_Mapping": Mapping,
            "_FACTS": FACTS,
            "_CONVERTERS": _CONVERTERS,
            "_CURRENCY": _not_null(_currency),
            "_fast_timestamp": _fast_timestamp,
            "_fast_minor": _fast_minor,
            "_fast_decimal": _fast_decimal,
            "_exponent": exponent,
            "_missing": _report_missing,
            "_nested": _nested,
            "_CHOICES": {name: frozenset(spec.choices) for name, spec in FACTS.items() if spec.choices},
            "_CURRENCIES": _KNOWN_CURRENCIES,
            "Facts": Facts,
        }
        exec(compile(self.source, "<facts converter>", "exec"), namespace)  # noqa: S102 - generated from FACTS
        self._fn = namespace["convert"]

    def __call__(self, raw: Mapping[str, Any]) -> Facts:
        return self._fn(raw)

    def _generate(self) -> str:
        lines = [
            "def convert(raw):",
            "    get = raw.get",
            "    cel = {}",
            "    extra = {}",
            "    more = {}",
            "    missing = []",
            "    currency = None",
        ]
        heads = sorted({name.split(".")[0] for name in self.names if name.count(".") == 1})
        for head in heads:
            lines += [
                f"    _s_{head} = get({head!r})",
                f"    if _s_{head}.__class__ is not _dict:",
                f"        _s_{head} = dict(_s_{head}) if isinstance(_s_{head}, _Mapping) else {{}}",
            ]
        for name in self.names:
            spec = FACTS[name]
            parts = name.split(".")
            key = repr(name)
            first = len(lines)
            if len(parts) == 2:  # nested first (the usual JSON), then flat
                lines.append(f"    v = _s_{parts[0]}.get({parts[1]!r}, _M)")
                lines.append(f"    if v is _M: v = get({key}, _M)")
            else:
                lines.append(f"    v = get({key}, _M)")
                if len(parts) > 2:
                    lines.append(f"    if v is _M: v = _nested(raw, {tuple(parts)!r})")
            lines += [
                "    if v is _M:",
                f"        missing.append({key})",
            ]
            slow = f"cel[{key}] = _CONVERTERS[{spec.kind!r}](_FACTS[{key}], v, currency)[0]"
            lo = f" and v >= {spec.minimum!r}" if spec.minimum is not None else ""
            hi = f" and v <= {spec.maximum!r}" if spec.maximum is not None else ""
            if name == "order.currency":
                lines += [
                    "    else:",
                    "        if v.__class__ is not _str or v not in _CURRENCIES:",
                    f"            _CURRENCY(_FACTS[{key}], v, None)",
                    f"        cel[{key}] = currency = v",
                    "        exp = _exponent(v)",
                ]
            elif spec.kind == "bool":
                lines += [f"    elif v is True or v is False: cel[{key}] = v", f"    else: {slow}"]
            elif spec.kind == "string":
                allowed = f" and v in _CHOICES[{key}]" if spec.choices else ""
                lines += [f"    elif v.__class__ is _str{allowed}: cel[{key}] = v", f"    else: {slow}"]
            elif spec.kind == "int":
                lines += [f"    elif v.__class__ is _int{lo}{hi}: cel[{key}] = v", f"    else: {slow}"]
            elif spec.kind == "double":
                finite = "" if (lo and hi) else " and -1e308 < v < 1e308"
                lines += [
                    f"    elif v.__class__ is _float{lo}{hi}{finite}: cel[{key}] = v",
                    f"    elif v.__class__ is _int{lo}{hi}{finite}: cel[{key}] = _float(v)",
                    f"    else: {slow}",
                ]
            elif spec.kind == "timestamp":
                lines += [
                    "    else:",
                    "        t = _fast_timestamp(v)",
                    f"        if t is None: {slow}",
                    f"        else: cel[{key}] = t",
                ]
            elif spec.kind == "money":
                lines += [
                    "    else:",
                    "        m = _fast_minor(v, exp) if currency is not None else None",
                    f"        if m is None: {slow}",
                    f"        else: cel[{key}] = m",
                ]
            else:  # decimal: the exact value is kept too
                lines += [
                    "    else:",
                    f"        d = _fast_decimal(v, {spec.minimum!r})",
                    f"        if d is None: cel[{key}], extra[{key}] = _CONVERTERS[{spec.kind!r}](_FACTS[{key}], v, currency)",
                    f"        else: cel[{key}], extra[{key}] = _float(d), d",
                ]
            if name not in self._for_cel:  # CEL does not need it: keep it aside
                lines[first:] = [line.replace(f"cel[{key}]", f"more[{key}]") for line in lines[first:]]
        lines += ["    if missing: _missing(missing)", "    return Facts(cel, extra, more)"]
        return "\n".join(lines) + "\n"


def _nested(raw: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    value: Any = raw
    for part in parts:
        value = value.get(part, _MISSING) if isinstance(value, Mapping) else _MISSING
    return value


def _report_missing(missing: list[str]) -> None:
    described = ", ".join(f"'{name}' ({FACTS[name].type_description})" for name in missing)
    noun = "fact" if len(missing) == 1 else "facts"
    raise FactError(f"missing {noun}: {described}", fact=missing[0])


def convert(raw: Mapping[str, Any], names: Iterable[str] | None = None) -> Facts:
    """Convert the facts named in `names` (default: all of contract v1) from JSON-ish values.

    Every name must be present (flat "order.amount" or nested {"order": {"amount": ...}});
    all missing names are reported together. Money facts bring order.currency with them.
    """
    return Converter(FACTS if names is None else names)(raw)


# --- showing facts to people --------------------------------------------------------------


#: Facts that are shares of a whole (0..1): people read them as percentages.
SHARES = frozenset({"usage.quota_used_ratio", "usage.since_request_quota_ratio", "customer.refunded_share"})


def _number_text(number: float | int | Decimal) -> str:
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
    return _number_text(float(share) * 100) + "%"


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
    """The calendar day of `stamp` in the merchant's time zone, as people write it: "5 March 2025" /
    "2025年3月5日" (an explanation says on which day something happened, not at which second, in UTC)."""
    d = stamp.astimezone(DISPLAY_TIME_ZONE)
    return f"{d.year}年{d.month}月{d.day}日" if zh else f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


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
        return _number_text(value)
    labels = CHOICE_LABELS.get(name)
    if labels and value in labels:
        return labels[value][1 if zh else 0]
    return str(value)


_FORMATS: dict[tuple[str, bool], tuple[str, str, str, str]] = {}


def _money_format(currency: str, zh: bool) -> tuple[str, str, str, str]:
    """(prefix, suffix, group separator, decimal separator) taken once from Babel's CLDR data."""
    key = (currency, zh)
    found = _FORMATS.get(key)
    if found is None:
        from babel.numbers import format_currency

        from refunddesk.core.money import babel_locale

        exp = exponent(currency)
        sample = Decimal(1234567) + (Decimal(89) / Decimal(100) if exp else 0)
        if exp > 2:
            sample = Decimal("1234567." + "8" * exp)
        text = format_currency(sample, currency, locale=babel_locale("zh-Hans" if zh else "en"))
        start = text.index("1")
        end = max(text.rindex(ch) for ch in "0123456789" if ch in text) + 1
        digits = text[start:end]
        group = digits[1]
        decimal_sep = digits[-(exp + 1)] if exp else "."
        found = (text[:start], text[end:], group, decimal_sep)
        _FORMATS[key] = found
    return found


def format_money(money: Money, lang: str) -> str:
    """Money for people, identical to Money.format(lang) but ~50x faster (no Babel per call)."""
    return format_minor(money.minor, money.currency, is_zh(lang))


_MINOR_FORMATS: dict[tuple[str, bool], tuple[str, str, int, int, bool, str, str]] = {}


def _minor_format(currency: str, zh: bool) -> tuple[str, str, int, int, bool, str, str]:
    """_money_format plus the currency's exponent, its power of ten and whether the separators are
    the plain ',' and '.': read once per currency and language (exponent() asks Babel each time)."""
    prefix, suffix, group, decimal_sep = _money_format(currency, zh)
    exp = exponent(currency)
    found = (prefix, suffix, exp, 10**exp, group == "," and decimal_sep == ".", group, decimal_sep)
    _MINOR_FORMATS[(currency, zh)] = found
    return found


def format_minor(minor: int, currency: str, zh: bool) -> str:
    """format_money for an int of minor units."""
    found = _MINOR_FORMATS.get((currency, zh)) or _minor_format(currency, zh)
    prefix, suffix, exp, scale, plain, group, decimal_sep = found
    sign = "-" if minor < 0 else ""
    minor = -minor if minor < 0 else minor
    if exp:
        whole, part = divmod(minor, scale)
        body = f"{whole:,}.{part:0{exp}d}"
    else:
        body = f"{minor:,}"
    if not plain:
        body = body.replace(",", "\0").replace(".", decimal_sep).replace("\0", group)
    return f"{sign}{prefix}{body}{suffix}"


def format_minor_pair(minor: int, currency: str) -> tuple[str, str]:
    """(format_minor(..., zh=False), format_minor(..., zh=True)), the digits formatted once when both
    languages group and separate them the same way (they do for every currency here but a few)."""
    en = _MINOR_FORMATS.get((currency, False)) or _minor_format(currency, False)
    zh = _MINOR_FORMATS.get((currency, True)) or _minor_format(currency, True)
    if not (en[4] and zh[4]):
        return format_minor(minor, currency, False), format_minor(minor, currency, True)
    sign = "-" if minor < 0 else ""
    minor = -minor if minor < 0 else minor
    exp = en[2]
    if exp:
        whole, part = divmod(minor, en[3])
        body = f"{whole:,}.{part:0{exp}d}"
    else:
        body = f"{minor:,}"
    return f"{sign}{en[0]}{body}{en[1]}", f"{sign}{zh[0]}{body}{zh[1]}"


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
        return lambda facts: _number_text(facts.raw(name))
    if kind == "decimal":
        return lambda facts: _number_text(facts.value(name))
    labels = {value: pair[1 if zh else 0] for value, pair in CHOICE_LABELS.get(name, {}).items()}
    return lambda facts: labels.get(facts.raw(name), facts.raw(name))
