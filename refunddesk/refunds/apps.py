from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunddesk.refunds"
    label = "refunds"
    verbose_name = "Refund requests"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks

        from refunddesk.core.worker import PeriodicJob, periodic_job_register
        from refunddesk.refunds.checks import calendar_check
        from refunddesk.refunds.services import deadlines_fill_on_calendar_change, no_answer_run

        checks.register(calendar_check, "refunddesk")
        from refunddesk.policies.services import replay_requested

        replay_requested.connect(_replay_answer, dispatch_uid="refunds-replay")
        from refunddesk.core.metrics import gauge_register
        from refunddesk.refunds.metrics import request_gauges

        gauge_register("requests", request_gauges)
        seen: list[object] = [None]  # the calendar the last run saw (per worker process)

        def fill_deadlines() -> None:
            seen[0] = deadlines_fill_on_calendar_change(seen=seen[0])

        # deadlines a newly recorded holiday schedule allows, once the calendar changed
        periodic_job_register(PeriodicJob("deadlines-fill", lambda: settings.REFUNDDESK_RECONCILE_SECONDS,
                                          fill_deadlines))
        # requests whose customer does not answer: reminded, then moved on as the policy says (no_answer)
        periodic_job_register(PeriodicJob("no-answer", lambda: settings.REFUNDDESK_RECONCILE_SECONDS,
                                          lambda: no_answer_run(), shared=True))


def _replay_answer(sender, *, document, since=None, limit=50, **kwargs):
    """Answers policies.services.replay_requested: the draft replayed over the stored decisions."""
    from refunddesk.refunds.replay import replay_summary

    return replay_summary(document=document, since=since, limit=limit)
