"""`__any_of`: the same rows as `__in`; on PostgreSQL one array parameter instead of one per value."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refunddesk.billing.models import Customer, Order
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_what_in_finds():
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    orders = [OrderFactory(customer=a), OrderFactory(customer=b), OrderFactory(customer=c)]
    wanted = [a.pk, c.pk, None, a.pk]
    assert set(Customer.objects.filter(id__any_of=wanted)) == set(Customer.objects.filter(id__in=wanted)) == {a, c}
    # through a foreign key, and for text values
    assert set(Order.objects.filter(customer_id__any_of=[b.pk])) == {orders[1]}
    assert set(Customer.objects.filter(email__any_of=[a.email, "nobody@example.com"])) == {a}
    assert not Customer.objects.filter(id__any_of=[]).exists()
    assert not Customer.objects.filter(id__any_of=[None]).exists()
    # anything but plain ints is prepared by the field, as __in does: numeric text, model instances
    assert set(Customer.objects.filter(id__any_of=[str(c.pk)])) == {c}
    assert set(Order.objects.filter(customer__any_of=[a, c])) == {orders[0], orders[2]}


def test_on_postgresql_the_list_is_one_parameter():
    CustomerFactory()
    with CaptureQueriesContext(connection) as queries:
        list(Customer.objects.filter(id__any_of=list(range(1, 2001))))
    sql = queries.captured_queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and "::bigint[])" in sql  # one array typed as the column: its index is used
        assert " IN (" not in sql
    else:
        assert " IN (" in sql
