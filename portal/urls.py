"""/portal/: the citizens' pages. Each part keeps its own routes beside its views."""

from portal.web import public

urlpatterns = [
    *public.urlpatterns,
]
