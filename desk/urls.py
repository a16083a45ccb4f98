"""/desk/: the workbenches. Each part keeps its own routes beside its views."""

from desk.web import case, common, department, map, queues, supervise

urlpatterns = [
    *common.urlpatterns,
    *case.urlpatterns,
    *map.urlpatterns,
    *department.urlpatterns,
    *supervise.urlpatterns,
    *queues.urlpatterns,
]
