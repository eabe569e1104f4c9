"""refunddesk demo: load the demo merchant once and print the demo logins."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from refunddesk.demo import DEMO_API_KEY, demo_load, demo_logins, demo_showcase_logins, demo_showcase_refresh


class Command(BaseCommand):
    help = "Load the demo merchant (plans, a few hundred customers, orders, usage, support history) once."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)

    def handle(self, *args, customers: int, **options):
        created = demo_load(customers=customers)
        if created["customers"]:
            self.stdout.write(self.style.SUCCESS(
                f"Demo merchant loaded: {created['customers']} customers, {created['orders']} orders, "
                f"{created['requests']} refund requests; the refund policy policies/subscription-vpn.yaml is published."
            ))
        else:
            self.stdout.write("Demo merchant already loaded; nothing changed.")
        demo_showcase_refresh()
        self.stdout.write("\nDemo logins (staff at /admin/ and the console, customers at the portal):")
        for who, username, password in demo_logins():
            self.stdout.write(f"  {who:<22} {username:<40} {password}")
        self.stdout.write("\nDemo customers, one for each path (password " + demo_showcase_logins()[0][1] + "; any reason):")
        for login, _password, what in demo_showcase_logins():
            self.stdout.write(f"  {login:<38} {what}")
        self.stdout.write(f"\nDemo API key (Authorization: Bearer ...): {DEMO_API_KEY}\n")
