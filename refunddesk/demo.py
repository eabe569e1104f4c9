"""The demo merchant: a VPN/SaaS seller with a few hundred customers, loaded once.

Deterministic (seeded), so every laptop sees the same demo. Staff and customers get
known passwords, printed by `refunddesk demo`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from refunddesk.billing.models import Customer, Order, Plan, PlanPrice, SupportContact, UsageRecord
from refunddesk.core import roles
from refunddesk.core.models import ApiKey, User

DEMO_MARKER_PLAN = "demo-vpn-1m"
STAFF_PASSWORD = "demo-staff-2026"
CUSTOMER_PASSWORD = "demo-customer-2026"
DEMO_API_KEY = "rdk_demo_key_for_local_use_only_0000000000"
REGIONS = ["cn-east", "cn-south", "cn-north", "hk", "sg", "jp", "us-west", "eu-central"]
REGION_NAMES = {
    "cn-east": ("China East", "华东"), "cn-south": ("China South", "华南"), "cn-north": ("China North", "华北"),
    "hk": ("Hong Kong", "香港"), "sg": ("Singapore", "新加坡"), "jp": ("Japan", "日本"),
    "us-west": ("US West", "美国西部"), "eu-central": ("Central Europe", "欧洲中部"),
}

FIRST_NAMES_ZH = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞", "徐明", "孙丽"]
FIRST_NAMES_EN = ["Alice", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Henry", "Isla", "Jack", "Kate", "Liam"]
LAST_NAMES_EN = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright"]

STAFF = [
    ("admin", "Admin", [roles.ADMIN], True),
    ("agent", "Agent Ann", [roles.AGENT], False),
    ("agent2", "Agent Bo", [roles.AGENT], False),
    ("supervisor", "Supervisor Sun", [roles.SUPERVISOR, roles.AGENT], False),
    ("finance", "Finance Fang", [roles.FINANCE], False),
    ("policyowner", "Policy Owner Pat", [roles.POLICY_OWNER], False),
]


@dataclass(frozen=True)
class DemoPlan:
    external_id: str
    name: str
    period_days: int
    window_days: int
    trial_hours: int
    price: Decimal


PLANS = [
    DemoPlan(DEMO_MARKER_PLAN, "VPN Monthly / 月付", 30, 7, 24, Decimal("30.00")),
    DemoPlan("demo-vpn-3m", "VPN Quarterly / 季付", 90, 14, 24, Decimal("78.00")),
    DemoPlan("demo-vpn-12m", "VPN Yearly / 年付", 365, 30, 0, Decimal("268.00")),
]


def demo_is_loaded() -> bool:
    return Plan.objects.filter(external_id=DEMO_MARKER_PLAN).exists()


@transaction.atomic
def demo_load(*, customers: int = 300, seed: int = 2026) -> dict[str, int]:
    """Load the demo merchant once. Returns counts of what it created (all zero if it was there)."""
    if demo_is_loaded():
        return {"customers": 0, "orders": 0}
    rng = random.Random(seed)
    now = timezone.now()

    for role in roles.ALL_ROLES:
        Group.objects.get_or_create(name=role)
    staff_hash = make_password(STAFF_PASSWORD)
    for username, name, role_names, superuser in STAFF:
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"first_name": name, "email": f"{username}@demo.refunddesk.localhost", "is_staff": True,
                      "is_superuser": superuser, "password": staff_hash, "language": "zh-hans"},
        )
        user.groups.set(Group.objects.filter(name__in=role_names))

    key = ApiKey(name="demo billing system")
    key.set_key(DEMO_API_KEY)
    key.save()

    plans = [
        Plan.objects.create(
            external_id=p.external_id, name=p.name, period_days=p.period_days, refund_window_days=p.window_days,
            trial_hours=p.trial_hours, refundable=True, price_minor=int(p.price * 100), currency="CNY",
        )
        for p in PLANS
    ]
    promo_plan = Plan.objects.create(
        external_id="demo-vpn-12m-promo", name="VPN Yearly, Double-11 offer / 双十一年付特价", period_days=365,
        refund_window_days=7, trial_hours=0, refundable=False, price_minor=16800, currency="CNY",
    )
    # the list prices have been the same for the demo's whole history (the facts compare each order with
    # the plan's price when it was bought)
    PlanPrice.objects.bulk_create(
        PlanPrice(plan=plan, currency=plan.currency, price_minor=plan.price_minor,
                  effective_from=now - dt.timedelta(days=3 * 365))
        for plan in [*plans, promo_plan])

    customer_hash = make_password(CUSTOMER_PASSWORD)
    users, customer_rows = [], []
    for i in range(max(customers - len(SHOWCASE), 0)):
        zh = i % 3 != 2
        if zh:
            name = FIRST_NAMES_ZH[i % len(FIRST_NAMES_ZH)]
        else:
            name = f"{FIRST_NAMES_EN[i % len(FIRST_NAMES_EN)]} {LAST_NAMES_EN[(i // 7) % len(LAST_NAMES_EN)]}"
        email = f"customer{i + 1}@demo.refunddesk.localhost"
        users.append(User(username=email, email=email, password=customer_hash, first_name=name,
                          language="zh-hans" if zh else "en"))
        region = rng.choice(REGIONS[:4]) if zh else rng.choice(REGIONS[3:])
        customer_rows.append(Customer(
            external_id=f"cus_{i + 1:05d}", email=email, name=name, region=region,
            language="zh-hans" if zh else "en", tos_violation=(i % 97 == 96),
        ))
    User.objects.bulk_create(users)
    user_by_email = {u.email: u for u in User.objects.filter(email__in=[u.email for u in users])}
    for c in customer_rows:
        c.user = user_by_email[c.email]
    Customer.objects.bulk_create(customer_rows)
    customer_list = list(Customer.objects.order_by("id"))

    orders: list[Order] = []
    methods = [("card", "sandbox"), ("alipay", "sandbox"), ("wechat_pay", "sandbox")]
    for i, customer in enumerate(customer_list):
        for n in range(1 + (i % 4 == 0)):
            plan = rng.choices(plans + [promo_plan], weights=[55, 20, 15, 10])[0]
            channel = rng.choices(["web", "app_store", "google_play", "reseller"], weights=[70, 14, 12, 4])[0]
            if channel == "app_store":
                method, gateway = "card", "app_store"
            elif channel == "google_play":
                method, gateway = "card", "google_play"
            else:
                method, gateway = rng.choices(methods, weights=[30, 40, 30])[0]
            purchased = now - dt.timedelta(days=rng.uniform(0.2, 60) + 40 * n, minutes=rng.randint(0, 600))
            amount = plan.price_minor
            promotional = plan is promo_plan or rng.random() < 0.08
            if promotional and plan is not promo_plan:
                amount = amount * 8 // 10
            fee = (amount * 6 + 999) // 1000 if method in ("alipay", "wechat_pay") else (amount * 29 + 999) // 1000
            orders.append(Order(
                external_id=f"ORD-{2026_0000 + len(orders) + 1}", customer=customer, plan=plan, amount_minor=amount,
                currency="CNY", purchased_at=purchased, sales_channel=channel, payment_method=method,
                gateway=gateway, gateway_charge_ref=f"{gateway}_ch_{len(orders) + 1:06d}", promotional=promotional,
                refundable=plan.refundable, channel_fee_minor=fee,
            ))
    # A few duplicate charges: the same plan and amount again, minutes later.
    for customer in customer_list[5:200:40]:
        original = next(o for o in orders if o.customer_id == customer.id)
        orders.append(Order(
            external_id=f"ORD-{2026_0000 + len(orders) + 1}", customer=customer, plan=original.plan,
            amount_minor=original.amount_minor, currency="CNY",
            purchased_at=original.purchased_at + dt.timedelta(minutes=rng.randint(1, 4)),
            sales_channel=original.sales_channel, payment_method=original.payment_method,
            gateway=original.gateway, gateway_charge_ref=f"{original.gateway}_ch_dup_{len(orders) + 1:06d}",
            promotional=original.promotional, refundable=original.refundable,
            channel_fee_minor=original.channel_fee_minor,
        ))
    Order.objects.bulk_create(orders)
    orders = list(Order.objects.select_related("plan").order_by("id"))

    usage, contacts = [], []
    for i, order in enumerate(orders):
        elapsed_days = Decimal(int((now - order.purchased_at).total_seconds())) / Decimal(86400)
        days_used = min(elapsed_days, Decimal(order.plan.period_days)) * Decimal(rng.choice(["0", "0.3", "0.7", "1"]))
        usage.append(UsageRecord(
            order=order, days_used=days_used.quantize(Decimal("0.01")), paid_features_used=rng.random() < 0.6,
            quota_used_ratio=Decimal(rng.randint(0, 10000)) / Decimal(10000), reported_at=now,
        ))
        if i % 9 == 0:
            contacts.append(SupportContact(
                external_id=f"TICKET-{i + 1:05d}", customer_id=order.customer_id, order=order,
                topic=rng.choice(["Cannot connect in cn-east / 华东无法连接", "Slow speed / 速度慢",
                                  "App crashes on start / 启动闪退", "Billing question / 账单疑问"]),
                opened_at=order.purchased_at + dt.timedelta(hours=rng.randint(1, 48)),
                resolved=rng.random() < 0.5,
            ))
    UsageRecord.objects.bulk_create(usage)
    SupportContact.objects.bulk_create(contacts)
    _demo_policy(now)
    _demo_status(now)
    requests = _demo_requests(customer_list, rng, now)
    showcase = _demo_showcase(now, plans, customer_hash)
    return {"customers": len(customer_list) + showcase["customers"], "orders": len(orders) + showcase["orders"],
            "requests": requests + showcase["requests"]}


@dataclass(frozen=True)
class Showcase:
    """A demo customer whose one order shows one path through the shipped VPN policy, whatever reason is
    chosen when applying (`what` says which; README "The demo customers")."""

    email: str
    name: str
    language: str
    region: str
    plan: str
    age: dt.timedelta  # how long before now the order was bought (kept so by `demo_showcase_refresh`)
    channel: str
    method: str
    gateway: str
    refundable: bool
    what: str


SHOWCASE = [
    Showcase("trial@demo.refunddesk.localhost", "林小雨", "zh-hans", "cn-east", DEMO_MARKER_PLAN,
             dt.timedelta(hours=2), "web", "alipay", "sandbox", True,
             "instant approval: a new customer inside the 24-hour trial (clause new-user-trial); the sandbox "
             "gateway refunds it in seconds"),
    Showcase("review@demo.refunddesk.localhost", "Olivia Chen", "en", "us-west", DEMO_MARKER_PLAN,
             dt.timedelta(days=3), "web", "card", "sandbox", False,
             "goes to review: a full-price order sold as 'no refunds' (clause no-refund-label-not-promotional); "
             "an agent decides in the console"),
    Showcase("late@demo.refunddesk.localhost", "周航", "zh-hans", "us-west", DEMO_MARKER_PLAN,
             dt.timedelta(days=20), "web", "wechat_pay", "sandbox", True,
             "rejected: asked after the 7-day refund window (clause refund-window-passed); may appeal"),
    Showcase("appstore@demo.refunddesk.localhost", "Sam Taylor", "en", "jp", DEMO_MARKER_PLAN,
             dt.timedelta(days=2), "app_store", "card", "app_store", True,
             "redirected: bought in the App Store, refunded by Apple (clause app-store-or-google-play)"),
    Showcase("outage@demo.refunddesk.localhost", "何静", "zh-hans", "cn-south", "demo-vpn-3m",
             dt.timedelta(days=20), "web", "bank_transfer", "manual", True,
             "open outage claim: caught by the 76-hour China South outage; the claim is approved for the unused "
             "share (clause major-outage) and waits for finance to pay it by bank transfer (console: Finance)"),
]


def _demo_showcase(now: dt.datetime, plans: list[Plan], password_hash: str) -> dict[str, int]:
    """The SHOWCASE customers, each with a sign-in (CUSTOMER_PASSWORD) and one order; the outage customer's
    claim is filed now. Returns counts of what it created."""
    from refunddesk.refunds.services import refund_request_submit

    by_id = {p.external_id: p for p in Plan.objects.all()}
    made = {"customers": 0, "orders": 0, "requests": 0}
    for n, show in enumerate(SHOWCASE, start=1):
        user = User.objects.create(username=show.email, email=show.email, password=password_hash,
                                   first_name=show.name, language=show.language)
        customer = Customer.objects.create(external_id=f"cus_demo_{n}", email=show.email, name=show.name,
                                           region=show.region, language=show.language, user=user)
        plan = by_id[show.plan]
        order = Order.objects.create(
            external_id=f"ORD-DEMO-{n}", customer=customer, plan=plan, amount_minor=plan.price_minor,
            currency=plan.currency, purchased_at=now - show.age, sales_channel=show.channel,
            payment_method=show.method, gateway=show.gateway, gateway_charge_ref=f"{show.gateway}_ch_demo_{n}",
            refundable=show.refundable, channel_fee_minor=(plan.price_minor * 6 + 999) // 1000)
        UsageRecord.objects.create(order=order, days_used=_days_used(show.age, plan), paid_features_used=False,
                                   quota_used_ratio=Decimal("0.05"), reported_at=now)
        made["customers"] += 1
        made["orders"] += 1
        if show.email.startswith("outage@"):
            refund_request_submit(customer=customer, order_number=order.external_id, reason="service_outage",
                                  description="华南地区连续三天无法连接。", now=now - dt.timedelta(hours=1))
            made["requests"] += 1
    return made


def _days_used(age: dt.timedelta, plan: Plan) -> Decimal:
    return min(Decimal(int(age.total_seconds())) / Decimal(86400), Decimal(plan.period_days)).quantize(Decimal("0.01"))


@transaction.atomic
def demo_showcase_refresh(*, now: dt.datetime | None = None) -> int:
    """Keep the showcase orders as old as SHOWCASE says (the trial customer's order two hours old...), so the
    paths work however long ago the demo was loaded. Orders someone already applied for are left alone.
    Returns how many orders it moved."""
    from refunddesk.refunds.models import RefundRequest

    now = now or timezone.now()
    moved = 0
    for n, show in enumerate(SHOWCASE, start=1):
        order = Order.objects.select_for_update(of=("self",), no_key=True).select_related("plan").filter(external_id=f"ORD-DEMO-{n}").first()
        if order is None or RefundRequest.objects.filter(order=order).exists():
            continue
        order.purchased_at = now - show.age
        order.save(update_fields=["purchased_at", "updated_at"])
        UsageRecord.objects.filter(order=order).update(days_used=_days_used(show.age, order.plan), reported_at=now)
        moved += 1
    return moved


def _demo_policy(now: dt.datetime) -> None:
    """Publish the shipped policy (settings.REFUNDDESK_POLICY_FILE and its cases) as in force for a year."""
    from django.conf import settings

    from refunddesk.policies.services import policy_publish
    from refunddesk.policies.testing import cases_path_for

    path = Path(settings.REFUNDDESK_POLICY_FILE)
    policy_publish(document=path.read_text(encoding="utf-8"),
                   cases=cases_path_for(path).read_text(encoding="utf-8"),
                   effective_at=now - dt.timedelta(days=400), change_note="First published version.")


def _demo_status(now: dt.datetime) -> None:
    """The status page's regions and a little history: a long outage, a typhoon, a slow day, one going on now."""
    from refunddesk.status.services import incident_open, region_upsert

    for position, code in enumerate(REGIONS):
        region_upsert(code=code, name_en=REGION_NAMES[code][0], name_zh=REGION_NAMES[code][1], position=position)
    day = dt.timedelta(days=1)
    incident_open(
        title_en="VPN gateways unreachable in China South", title_zh="华南地区 VPN 网关无法连接",
        regions=["cn-south"], cause="A routing change at our upstream provider withdrew our prefixes.",
        cause_zh="上游服务商的路由变更撤回了我们的网络前缀。",
        started_at=now - 14 * day, ended_at=now - 14 * day + dt.timedelta(hours=76), source="demo",
        message_en="Customers in China South cannot connect. We are working with our provider.",
        message_zh="华南地区用户无法连接，我们正在与服务商一起处理。", now=now)
    incident_open(
        title_en="Typhoon damage to the Hong Kong data centre", title_zh="台风导致香港机房受损",
        regions=["hk"], cause="Power and fibre cut by the typhoon.", cause_zh="台风导致机房断电、光缆中断。",
        force_majeure=True, force_majeure_note="Typhoon signal No. 10 was in force; the data centre lost power.",
        force_majeure_note_zh="十号飓风信号生效期间，机房断电。",
        started_at=now - 33 * day, ended_at=now - 33 * day + dt.timedelta(hours=30), source="demo", now=now)
    incident_open(
        title_en="Slow connections in Japan", title_zh="日本节点连接缓慢", severity="degraded",
        regions=["jp", "sg"], started_at=now - 5 * day, ended_at=now - 5 * day + dt.timedelta(hours=6),
        source="demo", now=now)
    incident_open(
        title_en="Intermittent disconnections in China East", title_zh="华东地区间歇性断线", severity="degraded",
        regions=["cn-east"], started_at=now - dt.timedelta(hours=3), source="demo",
        message_en="Some customers are disconnected every few minutes. We are investigating.",
        message_zh="部分用户每隔几分钟断线一次，我们正在调查。", now=now)


def _demo_requests(customers: list[Customer], rng: random.Random, now: dt.datetime) -> int:
    """A few customers have already applied, so the queues and timelines have something in them."""
    from refunddesk.refunds.services import refund_request_submit

    reasons = ["technical_issue", "service_outage", "not_satisfied", "duplicate_charge", "changed_mind",
               "technical_issue", "emergency", "other"]
    made = 0
    recent = Order.objects.filter(purchased_at__gte=now - dt.timedelta(days=6), sales_channel="web",
                                  customer__in=customers).select_related("customer").order_by("id")
    older = Order.objects.filter(purchased_at__lt=now - dt.timedelta(days=40), customer__in=customers).order_by("id")
    # customers of China South caught by the 76-hour outage (see _demo_status)
    outage = Order.objects.filter(customer__in=customers, customer__region="cn-south", sales_channel="web",
                                  promotional=False, purchased_at__range=(now - dt.timedelta(days=25),
                                                                          now - dt.timedelta(days=15)))
    picks = [(o, reasons[i % len(reasons)]) for i, o in enumerate(list(recent[:20]) + list(older[:4]))]
    picks += [(o, "service_outage") for o in outage.order_by("id")[:2]]
    for order, reason in picks:
        refund_request_submit(
            customer=order.customer, order_number=order.external_id, reason=reason,
            description=rng.choice([
                "连接经常断开，客服也没能解决。", "The app will not connect from my office network.",
                "我被扣了两次款。", "I no longer need the service.", "速度太慢，无法正常使用。",
            ]), now=max(now - dt.timedelta(hours=rng.randint(1, 96)), order.purchased_at + dt.timedelta(hours=2)),
        )
        made += 1
    return made


def demo_logins() -> list[tuple[str, str, str]]:
    """(who, login, password) of the staff and of two ordinary customers."""
    rows = [(name, username, STAFF_PASSWORD) for username, name, _, _ in STAFF]
    rows.append(("Customer (zh-Hans)", "customer1@demo.refunddesk.localhost", CUSTOMER_PASSWORD))
    rows.append(("Customer (en)", "customer3@demo.refunddesk.localhost", CUSTOMER_PASSWORD))
    return rows


def demo_showcase_logins() -> list[tuple[str, str, str]]:
    """(login, password, what the customer's order shows) of the SHOWCASE customers."""
    return [(show.email, CUSTOMER_PASSWORD, show.what) for show in SHOWCASE]
