"""Periodic work of the portal (thin: the function does it)."""

from celery import shared_task

from portal.abuse import captcha_challenges_expired_purge


@shared_task
def captcha_challenges_expired_purge_task() -> int:
    return captcha_challenges_expired_purge()
