"""Background and periodic work of patrol. Thin: each calls a service or a selector; each is
idempotent, so a retry or a duplicate delivery does nothing twice. The schedules are in
settings.CELERY_BEAT_SCHEDULE."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from patrol import partitions, selectors, services
from patrol.models import Shift


@shared_task(acks_late=True)
def shift_report_task(shift_id: int) -> bool:
    shift = Shift.objects.filter(pk=shift_id).defer("report").first()
    if shift is None:  # pruned meanwhile
        return False
    services.shift_report_compute(shift=shift)
    return True


@shared_task
def shifts_close_idle_task() -> int:
    return services.shifts_close_idle()


@shared_task
def track_partitions_ahead_task() -> int:
    today = timezone.localdate()
    ahead = settings.GRIDCITY_PATROL_PARTITIONS_AHEAD_DAYS
    return partitions.track_partitions_ensure(today + timedelta(days=d) for d in range(ahead + 1))


@shared_task
def shift_reports_nightly_task() -> int:
    """Yesterday's shifts whose report is missing or out of date, one task each."""
    due = selectors.shifts_report_due(timezone.localdate() - timedelta(days=1))
    pks = list(due.values_list("pk", flat=True))
    for pk in pks:
        shift_report_task.delay(pk)
    return len(pks)


@shared_task
def tracks_prune_task() -> dict:
    """Retention, daily: fixes and shifts older than GRIDCITY_PATROL_RETENTION_DAYS go."""
    result = services.tracks_prune()
    return {"partitions": len(result.partitions), "points": result.points, "shifts": result.shifts}
