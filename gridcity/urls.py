from captcha.urls import urlpatterns as captcha_urlpatterns
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
    path("portal/", include("portal.urls")),
    path("hotline/", include("portal.web.hotline")),
    path("api/v1/", include("gridcity.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("cases.api.urls")),
    path("api/v1/public/", include("portal.api.urls")),
    path("api/v1/hotline/", include("portal.api.hotline")),
    path("api/v1/patrol/", include("patrol.api.urls")),
    path("", include("patrol.urls_protocols")),  # /osmand/, /owntracks/
    # The portal's captcha images (portal.abuse). Not the library's refresh view: it writes a
    # challenge row for every GET, for anyone; a new challenge comes with each refusal instead.
    path(
        "captcha/", include([p for p in captcha_urlpatterns if p.name.startswith("captcha-image")])
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
handler404 = "gridcity.api.errors.handler404"  # JSON under /api/, the page elsewhere
# No URL serves MEDIA_ROOT, whatever DEBUG says: case photos are evidence with personal data,
# served only through the permission-checked photo endpoints, and the originals never.
