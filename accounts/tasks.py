"""Periodic work of the accounts app (thin: the service does it)."""

from celery import shared_task

from accounts.auth import tokens_expired_purge


@shared_task
def tokens_expired_purge_task() -> int:
    return tokens_expired_purge()
