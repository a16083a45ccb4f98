"""/portal/: the citizens' portal. Each part keeps its own routes beside its views."""

from portal.web import public, report

urlpatterns = [
    *report.urlpatterns,
    *public.urlpatterns,
]
