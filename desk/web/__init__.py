"""The workbench pages, one module a part; each module's ``urlpatterns`` join ``desk.urls``."""
