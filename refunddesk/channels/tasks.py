"""Background work of the channels: the mailbox fetch, WeChat's pull and sends (thin: each calls a service)."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="channels")
def mail_fetch() -> int:
    from refunddesk.channels.services import mail_fetch as fetch

    return fetch()


@task(queue_name="channels")
def wechat_pull(*, token: str = "", open_kfid: str = "") -> int:
    from refunddesk.channels.services import wechat_sync

    return wechat_sync(token=token, open_kfid=open_kfid)


@task(queue_name="channels")
def wechat_send(*, message_id: int) -> None:
    from refunddesk.channels.services import wechat_send_now

    wechat_send_now(message_id=message_id)
