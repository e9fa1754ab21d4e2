from django.urls import path

from incidents import active_views

urlpatterns = [
    path("active/", active_views.active, name="incident-active"),
    path("active/state/", active_views.active_state, name="incident-active-state"),
    path("active/capture/", active_views.capture, name="incident-capture"),
    path("active/milestone/", active_views.milestone, name="incident-milestone"),
    path("active/roles/", active_views.role, name="incident-role"),
    path("active/join/", active_views.join, name="incident-join"),
    path("active/updates/", active_views.status_update, name="incident-status-update"),
    path("active/snooze/", active_views.snooze, name="incident-quiet-snooze"),
]
