from django.urls import path

from patrol.api import tracks, views

urlpatterns = [
    path("shifts/", views.ShiftListStartApi.as_view(), name="patrol-shift-list"),
    path("shifts/<int:pk>/", views.ShiftDetailApi.as_view(), name="patrol-shift-detail"),
    path("shifts/<int:pk>/end/", views.ShiftEndApi.as_view(), name="patrol-shift-end"),
    path("shifts/<int:pk>/points/", views.ShiftPointsApi.as_view(), name="patrol-shift-points"),
    path("shifts/<int:pk>/report/", views.ShiftReportApi.as_view(), name="patrol-shift-report"),
    path("inspectors/", views.InspectorSummaryApi.as_view(), name="patrol-inspectors"),
    path("points/", views.TrackPointsUploadApi.as_view(), name="patrol-points"),
    path("gpx/", tracks.TrackGpxImportApi.as_view(), name="patrol-gpx-import"),
    path(
        "shifts/<int:pk>/track.gpx",
        tracks.ShiftTrackGpxApi.as_view(),
        name="patrol-shift-track-gpx",
    ),
    path(
        "shifts/<int:pk>/track.geojson",
        tracks.ShiftTrackGeoJsonApi.as_view(),
        name="patrol-shift-track-geojson",
    ),
]
