"""/api/v1/public/: what the portal's pages and citizens' apps call, anonymous allowed."""

from portal.api import reports

urlpatterns = [
    *reports.urlpatterns,
]
