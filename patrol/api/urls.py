from django.urls import path

from patrol.api import views

urlpatterns = [
    path("shifts/", views.ShiftListStartApi.as_view(), name="patrol-shift-list"),
    path("shifts/<int:pk>/", views.ShiftDetailApi.as_view(), name="patrol-shift-detail"),
    path("shifts/<int:pk>/end/", views.ShiftEndApi.as_view(), name="patrol-shift-end"),
    path("shifts/<int:pk>/points/", views.ShiftPointsApi.as_view(), name="patrol-shift-points"),
    path("points/", views.TrackPointsUploadApi.as_view(), name="patrol-points"),
]
