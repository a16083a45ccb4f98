from django.urls import path
from rest_framework.routers import SimpleRouter

from gridcity.api import views

router = SimpleRouter()
router.register("districts", views.DistrictViewSet, basename="district")
router.register("streets", views.StreetViewSet, basename="street")
router.register("communities", views.CommunityViewSet, basename="community")
router.register("grids", views.WorkGridViewSet, basename="grid")
router.register("checkpoints", views.CheckpointViewSet, basename="checkpoint")

urlpatterns = [
    path("locate/", views.LocateApi.as_view(), name="locate"),
    *router.urls,
]
