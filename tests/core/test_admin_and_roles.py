import pytest
from django.contrib.auth.models import Group

from refunddesk.core import roles

pytestmark = pytest.mark.django_db


def test_the_roles_exist_with_their_permissions():
    for role in roles.ALL_ROLES:
        assert Group.objects.filter(name=role).exists()
    agent = Group.objects.get(name=roles.AGENT)
    assert agent.permissions.filter(codename="review_request").exists()
    assert not agent.permissions.filter(codename="decide_appeal").exists()
    assert Group.objects.get(name=roles.SUPERVISOR).permissions.filter(codename="decide_appeal").exists()
    assert Group.objects.get(name=roles.FINANCE).permissions.filter(codename="manage_refunds").exists()
    assert Group.objects.get(name=roles.POLICY_OWNER).permissions.filter(codename="publish_policy").exists()


@pytest.mark.parametrize("url", [
    "/admin/billing/customer/", "/admin/billing/order/", "/admin/billing/plan/", "/admin/billing/usagerecord/",
    "/admin/billing/supportcontact/", "/admin/core/apikey/", "/admin/refunds/refundrequest/",
    "/admin/payments/refund/", "/admin/notify/webhookdelivery/", "/admin/policies/policyversion/",
])
def test_admin_pages_open(admin_client, url):
    assert admin_client.get(url).status_code == 200
