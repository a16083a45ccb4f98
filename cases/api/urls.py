from django.urls import path, re_path

from cases.api import views

urlpatterns = [
    path("categories/", views.CategoriesApi.as_view(), name="categories"),
    path("cases/", views.CaseListCreateApi.as_view(), name="case-list"),
    path("cases/duplicates/", views.CaseDuplicatesApi.as_view(), name="case-duplicates"),
    path("cases/<str:number>/", views.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<str:number>/photos/", views.CasePhotoApi.as_view(), name="case-photos"),
    re_path(
        r"^cases/(?P<number>[^/]+)/photos/(?P<pk>[0-9]+)/(?P<kind>display|thumbnail)/$",
        views.CasePhotoFileApi.as_view(),
        name="case-photo-file",
    ),
    *[
        path(
            f"cases/<str:number>/{action}/",
            views.CaseActionApi.as_view(action_name=action),
            name=f"case-{action}",
        )
        for action in views.ACTIONS
    ],
    path("me/tasks/", views.MyTasksApi.as_view(), name="my-tasks"),
    path("me/notifications/", views.NotificationListApi.as_view(), name="my-notifications"),
    path(
        "me/notifications/read-all/",
        views.NotificationReadAllApi.as_view(),
        name="my-notifications-read-all",
    ),
    path(
        "me/notifications/<int:pk>/read/",
        views.NotificationReadApi.as_view(),
        name="my-notification-read",
    ),
]
