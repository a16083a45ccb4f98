"""/api/v1/public/: what the portal's pages and citizens' apps call, anonymous allowed."""

from portal.api import public, reports

urlpatterns = [
    *reports.urlpatterns,
    *public.urlpatterns,
]
