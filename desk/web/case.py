"""The case page (to be written): map, photos, timeline, deadlines, nearby, the actions."""

from django.http import Http404
from django.urls import path


def case_page(request, number: str):
    raise Http404


urlpatterns = [
    path("cases/<str:number>/", case_page, name="desk-case"),
]
