from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from gridcity import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("patrol/", include("patrol.urls")),
    path("desk/", include("desk.urls")),
    path("m/", include("desk.web.mobile")),
    path("hotline/", include("portal.web.hotline")),
    path("api/v1/", include("gridcity.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("cases.api.urls")),
    path("api/v1/hotline/", include("portal.api.hotline")),
    path("api/v1/patrol/", include("patrol.api.urls")),
    path("", include("patrol.urls_protocols")),  # /osmand/, /owntracks/
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
handler404 = "gridcity.api.errors.handler404"  # JSON under /api/, the page elsewhere
# No URL serves MEDIA_ROOT, whatever DEBUG says: case photos are evidence with personal data,
# served only through the permission-checked photo endpoints, and the originals never.
