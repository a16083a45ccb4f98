"""The portal's pages, one module a part; each module's ``urlpatterns`` join ``portal.urls``."""
