"""The Celery application. Tasks live in each app's ``tasks.py``; schedules in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcity.settings")

app = Celery("gridcity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
