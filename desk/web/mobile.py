"""The inspector's phone page (to be written), under /m/ so its service worker covers it."""

from django.http import Http404
from django.urls import path


def home(request):
    raise Http404


urlpatterns = [
    path("", home, name="mobile-home"),
]
