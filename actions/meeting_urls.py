from django.urls import path

from actions import meeting_views

urlpatterns = [
    path("schedule/", meeting_views.meeting_schedule_page, name="meeting-schedule"),
    path("<int:pk>/", meeting_views.meeting_page, name="meeting"),
    path("<int:pk>/projector/", meeting_views.meeting_projector, name="meeting-projector"),
    path("<int:pk>/timer/", meeting_views.meeting_timer_press, name="meeting-timer"),
    path("dissent/<int:pk>/consent/", meeting_views.dissent_consent_press, name="dissent-consent"),
]
