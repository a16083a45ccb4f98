"""Patrol pages (the API is in patrol.api.urls)."""

from django.urls import path

from patrol import views

urlpatterns = [
    path("audit/", views.audit, name="patrol-audit"),
]
