"""Background work of the reports (thin: each calls a service)."""

from __future__ import annotations

from django_tasks import task


@task()
def figures_refresh() -> int:
    """Rebuild the report figures (reports.services.figures_refresh); returns the rows written."""
    from refunddesk.reports.services import figures_refresh as refresh

    return refresh().rows
