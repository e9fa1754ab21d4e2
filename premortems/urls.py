from django.urls import path

from premortems import views

urlpatterns = [
    path("", views.premortem_list, name="premortem-list"),
    path("new/", views.premortem_new, name="premortem-new"),
    path("<int:premortem>/", views.premortem_page, name="premortem"),
    path("<int:premortem>/board/", views.premortem_board, name="premortem-board"),
    path("<int:premortem>/events/", views.premortem_events, name="premortem-events"),
    path("<int:premortem>/history/", views.premortem_history_page, name="premortem-history"),
    path("<int:premortem>/join/", views.premortem_join, name="premortem-join"),
    path("<int:premortem>/reasons/", views.reason_new, name="premortem-reason-new"),
    path(
        "<int:premortem>/reasons/<int:reason>/delete/",
        views.reason_remove,
        name="premortem-reason-delete",
    ),
    path("<int:premortem>/phase/", views.premortem_phase, name="premortem-phase"),
    path("<int:premortem>/extend/", views.premortem_extend, name="premortem-extend"),
    path("<int:premortem>/groups/", views.group_new, name="premortem-group-new"),
    path(
        "<int:premortem>/groups/<int:group>/delete/",
        views.group_remove,
        name="premortem-group-delete",
    ),
    path("<int:premortem>/groups/<int:group>/vote/", views.group_vote, name="premortem-vote"),
]
