from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/token/", views.TokenApi.as_view(), name="auth-token"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("me/devices/", views.MyDeviceListApi.as_view(), name="my-devices"),
    path("me/devices/<int:pk>/", views.MyDeviceRevokeApi.as_view(), name="my-device"),
]
