"""Periodic and background work on cases. Thin: each calls a service; each is idempotent."""

from celery import shared_task

from cases import services


@shared_task
def cases_mark_overdue_task() -> int:
    return services.cases_mark_overdue()


@shared_task
def cases_warn_due_soon_task() -> int:
    return services.cases_warn_due_soon()


@shared_task(acks_late=True)
def case_photo_derivatives_task(photo_id: int) -> bool:
    return services.case_photo_derivatives(photo_id=photo_id)
