"""The site's URLs plus a stand-in for the case page's action URL (``desk-case-action``), so
that the supervisor page's escalate form can be checked before the case page is there."""

from django.urls import path

from gridcity.urls import urlpatterns as site


def _stub_action(request, number, action):
    raise AssertionError("the stand-in is not posted to")


urlpatterns = [
    path("desk/cases/<str:number>/<str:action>/", _stub_action, name="desk-case-action"),
    *site,
]
