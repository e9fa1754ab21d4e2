from django.urls import path

from actions import ticket_views

team_urlpatterns = [
    path("", ticket_views.team_tracker, name="team-tracker"),
    path("remove/", ticket_views.team_tracker_remove, name="team-tracker-remove"),
]

webhook_urlpatterns = [
    path(
        "<slug:tracker_name>/<slug:team>/webhook/",
        ticket_views.tracker_webhook,
        name="tracker-webhook",
    ),
]
