from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "refunddesk.channels"
    label = "channels"
    verbose_name = "Channels (email, WeChat, site messages)"

    def ready(self) -> None:
        """Channels answers `refunds.lifecycle.customer_told` (every notice to a customer goes out on the channel
        the customer uses and into their site inbox) and registers the mailbox fetch with the worker."""
        from django.conf import settings

        from refunddesk.channels import services
        from refunddesk.core.worker import PeriodicJob, periodic_job_register
        from refunddesk.refunds.lifecycle import customer_told

        customer_told.connect(services.notice_route, dispatch_uid="channels.notice")
        periodic_job_register(PeriodicJob("mail-fetch", lambda: settings.REFUNDDESK_MAIL_FETCH_SECONDS,
                                          services.mail_fetch_enqueue, shared=True))
        # WeChat's callbacks say when to pull; this catches up on any whose pull failed or never came
        periodic_job_register(PeriodicJob("wechat-pull", lambda: settings.REFUNDDESK_MAIL_FETCH_SECONDS,
                                          services.wechat_pull_enqueue, shared=True))
