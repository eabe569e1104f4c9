"""The pages staff work in (issue 17, agents and supervisors): staff wording for staff, an approval citing a clause
that did not match is an override, names rather than user names, one navigation on every console page, the public
home page without operator links, a favicon on every page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.console.conftest import client_for
from tests.factories import OrderFactory
from tests.portal.test_customer_pages import visible_text

pytestmark = pytest.mark.django_db


def submit(customer, order, reason="technical_issue", **kw):
    return s.refund_request_submit(customer=customer, order_number=order.external_id, reason=reason, **kw)


def text_of(response) -> str:
    return " ".join(visible_text(response.content.decode()).split())


@pytest.fixture
def waiting(published_policy, customer, order, agent):
    req = submit(customer, order)
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Which device?")
    return req


# --- staff wording for staff -------------------------------------------------------------------------


def test_staff_read_waiting_for_the_customer_and_the_customer_reads_waiting_for_your_reply(waiting, agent, customer):
    staff = client_for(agent)
    queue = text_of(staff.get("/console/queue/?status=waiting_for_customer"))
    case = text_of(staff.get(f"/console/requests/{waiting.public_id}/"))
    assert "Waiting for the customer" in queue and "Waiting for the customer" in case
    assert "your reply" not in queue and "your reply" not in case and "you applied" not in queue
    # the queue's status filter speaks of the customer too, for every state
    options = re.findall(r'<option value="(\w+)"[^>]*>([^<]+)</option>', staff.get("/console/queue/").content.decode())
    labels = dict(options)
    assert labels["waiting_for_customer"] == "Waiting for the customer"
    assert labels["superseded"] == "Closed: the customer applied again"
    assert not [label for label in labels.values() if re.search(r"\byou(r)?\b", label, re.I)]
    # the customer's own pages keep their words
    portal = Client(HTTP_ACCEPT_LANGUAGE="en")
    portal.force_login(customer.user)
    assert "Waiting for your reply" in text_of(portal.get(f"/portal/requests/{waiting.public_id}/"))
    assert "Waiting for your reply" in text_of(portal.get("/portal/requests/"))


def test_staff_api_and_customer_api_label_the_state_each_in_its_words(waiting, agent, customer):
    from refunddesk.core.services import access_token_create

    staff = Client(HTTP_AUTHORIZATION=f"Bearer {access_token_create(user=agent)[1]}", HTTP_ACCEPT_LANGUAGE="en")
    mine = Client(HTTP_AUTHORIZATION=f"Bearer {access_token_create(user=customer.user)[1]}",
                  HTTP_ACCEPT_LANGUAGE="en")
    assert staff.get(f"/api/v1/staff/requests/{waiting.public_id}").json()["status_label"] == "Waiting for the customer"
    assert mine.get(f"/api/v1/requests/{waiting.public_id}").json()["status_label"] == "Waiting for your reply"


def test_chinese_staff_wording(waiting, agent):
    staff = client_for(agent)
    staff.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    html = staff.get(f"/console/requests/{waiting.public_id}/").content.decode()
    assert re.search(r'id="status-badge">等待客户回复<', html)


# --- an approval citing a clause that did not match is an override ------------------------------------


def test_approving_on_a_clause_that_did_not_match_needs_a_reason(published_policy, customer, agent):
    req = submit(customer, OrderFactory(customer=customer))  # the default decided: changed-mind did not match
    assert req.policy_clause == "default"
    client = client_for(agent)
    url = f"/console/requests/{req.public_id}/approve/"
    response = client.post(url, {"approve-amount": "", "approve-clause": "changed-mind", "approve-reason": "Fair"})
    html = response.content.decode()
    assert 'id="id_approve-override_reason_error"' in html and "did not match this request" in html
    assert RefundRequest.objects.get(pk=req.pk).status == Status.IN_REVIEW
    assert client.post(url, {"approve-amount": "", "approve-clause": "changed-mind", "approve-reason": "Fair",
                             "approve-override_reason": "Known outage"}).status_code == 302
    done = RefundRequest.objects.get(pk=req.pk)
    assert done.override and done.override_reason == "Known outage"
    assert done.timeline.get(action="approve").override


def test_offering_on_a_clause_that_did_not_match_needs_a_reason_too(published_policy, customer, agent):
    req = submit(customer, OrderFactory(customer=customer))
    from refunddesk.core.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        s.refund_request_offer(public_id=req.public_id, user=agent, amount="5.00", clause="duplicate-charge")
    assert info.value.field == "override_reason"
    # the clause that decided needs none
    s.refund_request_offer(public_id=req.public_id, user=agent, amount="5.00", clause="default")
    assert not RefundRequest.objects.get(pk=req.pk).override


# --- names, not user names ---------------------------------------------------------------------------------


def test_the_assign_list_and_the_timeline_show_names(published_policy, customer, order, agent, agent2):
    agent2.first_name, agent2.last_name = "Wang", "Fang"
    agent2.save()
    req = submit(customer, order)
    client = client_for(agent)
    html = client.get(f"/console/requests/{req.public_id}/").content.decode()
    assign = re.search(r'<select name="assign-assignee".*?</select>', html, re.S).group(0)
    assert ">Wang Fang</option>" in assign and ">agent_b</option>" not in assign
    client.post(f"/console/requests/{req.public_id}/assign/", {"assign-assignee": "agent_b"})
    queue = text_of(client.get("/console/queue/"))
    assert "Wang Fang" in queue and "agent_b" not in queue


# --- one navigation, public links, favicon -------------------------------------------------------------


NAV = ("Queue", "Appeals", "Incidents", "Holiday calendar", "Refund policy", "Service status")


def nav_of(response) -> str:
    return re.search(r'<nav class="nav".*?</nav>', response.content.decode(), re.S).group(0)


@pytest.mark.parametrize("url", ["/console/queue/", "/console/appeals/", "/console/calendar/", "/console/status/",
                                 "/console/status/incidents/new/", "/status/", "/policy/"])
def test_every_page_a_supervisor_opens_has_the_same_navigation(url, supervisor, published_policy):
    nav = nav_of(client_for(supervisor).get(url))
    assert [label for label in NAV if label not in nav] == []


@pytest.mark.parametrize("url", ["/status/", "/policy/", "/"])
def test_public_pages_link_each_other(url, published_policy):
    nav = nav_of(Client(HTTP_ACCEPT_LANGUAGE="en").get(url))
    assert 'href="/policy/"' in nav and 'href="/status/"' in nav


def test_the_home_page_does_not_send_the_public_to_admin_or_healthz(db, supervisor):
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert 'href="/admin/"' not in html and 'href="/healthz"' not in html
    supervisor.is_staff = True
    supervisor.save()
    assert 'href="/admin/"' in client_for(supervisor).get("/").content.decode()


@pytest.mark.parametrize("url", ["/", "/policy/", "/status/", "/accounts/login/", "/no-such-page/"])
def test_every_page_has_a_favicon(url, published_policy):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    html = client.get(url).content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon and icon.group(1).endswith(".svg")
