"""The generated fact converter (fast_facts.Converter) is the plain one (facts.reference_convert), faster:
for valid and invalid fact sets alike, both give the same Facts or raise the same FactError. Pure tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refunddesk.policies.facts import FACTS, FactError, reference_convert
from refunddesk.policies.fast_facts import Converter
from tests.policies.helpers import BASE_FACTS, SHIPPED, facts

ANY_JUNK = st.sampled_from([None, "", "x", [], {}, 1.5, -1, True, object()])
MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]),
)

# For each kind: the values a merchant's system usually sends (mostly valid), and odd ones (the edges:
# out of range, other types, malformed text). Junk of any kind is added for every fact.
USUAL = {
    "bool": st.booleans(),
    "string": st.text(max_size=12),
    "int": st.integers(min_value=-3, max_value=400),
    "double": st.floats(min_value=-2, max_value=500),
    "timestamp": MOMENTS.flatmap(lambda d: st.sampled_from([d.isoformat(), d.isoformat().replace("+00:00", "Z")])),
    "money": st.integers(min_value=0, max_value=10**9).map(lambda m: f"{m // 100}.{m % 100:02d}"),
    "decimal": st.decimals(min_value=-2, max_value=400, places=2, allow_nan=False).map(str),
}
ODD = {
    "bool": st.sampled_from(["true", 1, 0]),
    "string": st.one_of(st.integers(), st.sampled_from(["web", "app_store", "Web", " web"])),
    "int": st.one_of(st.integers(), st.sampled_from([True, "30", 3.0, 2**70])),
    "double": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10, max_value=10**4),
        st.sampled_from(["72.5", "1e400", "abc", " 3 ", Decimal("0.5"), False, 1, 0]),
    ),
    "timestamp": st.one_of(
        MOMENTS,
        st.sampled_from([
            "2025-03-01T10:00:00", "2025-03-01", "2025-03-01 10:00:00+08:00", "2025-03-01T10:00:00z",
            "2025-13-01T10:00:00Z", datetime(2025, 3, 1), 1740000000,
        ]),
    ),
    "money": st.one_of(
        st.integers(min_value=0, max_value=10**6).map(str),
        st.sampled_from([
            "30.005", "-1.00", "1e3", "30.", ".5", " 30.00", "\uff13\uff10", "abc", "NaN", 30.0, 30, Decimal("30.00"),
            "99999999999999", "1200", "1.234",
        ]),
    ),
    "decimal": st.sampled_from(["3", "3.50", "-1", "abc", "Infinity", 3.5, 3, True, Decimal("2.25"), "0.1"]),
}
CURRENCIES = st.sampled_from(["CNY", "CNY", "USD", "JPY", "KWD", "XYZ", "cny", 5, None])


def _value(name: str):
    if name == "order.currency":
        return CURRENCIES
    kind = FACTS[name].kind
    usual = st.sampled_from(FACTS[name].choices) if FACTS[name].choices else USUAL[kind]
    pick = st.sampled_from(["usual"] * 12 + ["odd", "junk"])
    return pick.flatmap(lambda p: {"usual": usual, "odd": ODD[kind], "junk": ANY_JUNK}[p])


@st.composite
def fact_sets(draw):
    """JSON-style input: each fact absent, nested, flat, or both (with different values)."""
    raw: dict = {}
    for name in FACTS:
        where = draw(st.sampled_from(["nested"] * 6 + ["flat", "flat", "both", "absent"]))
        head, _, tail = name.partition(".")
        if where in ("nested", "both"):
            if tail:
                raw.setdefault(head, {})[tail] = draw(_value(name))
            else:
                raw[head] = draw(_value(name))
        if where in ("flat", "both") and tail:
            raw[name] = draw(_value(name))
    if draw(st.integers(min_value=0, max_value=20)) == 0:  # a section that is not a mapping
        raw[draw(st.sampled_from(["order", "usage", "plan"]))] = draw(st.sampled_from(["x", 3, None, ["a"]]))
    return raw


def _outcome(convert, raw):
    try:
        return "ok", convert(raw)
    except FactError as exc:
        return "error", str(exc), exc.fact


@given(
    fact_sets(),
    st.lists(st.sampled_from(list(FACTS)), unique=True, max_size=len(FACTS)),
    st.data(),
)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_fast_converter_is_the_reference_converter(raw, names, data):
    for_cel = data.draw(st.sets(st.sampled_from(names)) if names else st.just(set()))
    fast = _outcome(Converter(names, for_cel), raw)
    reference = _outcome(lambda r: reference_convert(r, names, for_cel), raw)
    assert fast == reference


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_policies_convert_the_base_facts_like_the_reference(shipped, name):
    policy = shipped[name]
    for raw in (BASE_FACTS, facts(order__currency="JPY", order__amount="1200", order__refunded="0",
                                  order__channel_fee="0")):
        assert policy._convert(raw) == reference_convert(raw, policy._convert.names, policy._convert._for_cel)


def test_the_generated_code_is_made_from_the_contract_only():
    source = Converter(["order.amount", "usage.days_used", "now"]).source
    assert source.startswith("def convert(raw):") and "exec" not in source and "import" not in source
    names = {line.split("'")[1] for line in source.splitlines() if "missing.append(" in line}
    assert names == {"order.currency", "order.amount", "usage.days_used", "now"}


def test_a_name_outside_the_contract_is_refused():
    with pytest.raises(KeyError, match="not facts of contract v1: order.colour"):
        Converter(["order.colour"])
    with pytest.raises(KeyError, match="order.colour"):
        reference_convert({}, ["order.colour"])

