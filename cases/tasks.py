"""Periodic and background work on cases. Thin: each calls a service; each is idempotent."""

from celery import shared_task

from cases import notify, services


@shared_task
def cases_mark_overdue_task() -> int:
    return services.cases_mark_overdue()


@shared_task
def cases_warn_due_soon_task() -> int:
    return services.cases_warn_due_soon()


@shared_task(acks_late=True)
def case_photo_derivatives_task(photo_id: int) -> bool:
    return services.case_photo_derivatives(photo_id=photo_id)


@shared_task(acks_late=True)
def notifications_deliver_task(outbox_ids: list[int]) -> int:
    """Deliver freshly written notifications through the outside channel (once each)."""
    return sum(notify.outbox_deliver(outbox_id=pk) for pk in outbox_ids)


@shared_task
def notifications_drain_task() -> int:
    """Every due notification of the outbox: a first try never queued, and the retries."""
    return notify.outbox_drain()


@shared_task
def case_photo_copies_catch_up_task() -> int:
    """The copies of photos whose own task never ran."""
    return services.case_photo_copies_catch_up()
