"""/portal/: the citizens' portal. Each part keeps its own routes beside its views."""

from portal.web import report, track

urlpatterns = [
    *report.urlpatterns,
    *track.urlpatterns,
]
