from django.urls import path

from incidents import webhook_views

urlpatterns = [
    path("", webhook_views.team_webhooks, name="team-webhooks"),
    path("<int:hook_id>/test/", webhook_views.team_webhook_test, name="team-webhook-test"),
    path("<int:hook_id>/switch/", webhook_views.team_webhook_switch, name="team-webhook-switch"),
    path("<int:hook_id>/delete/", webhook_views.team_webhook_delete, name="team-webhook-delete"),
]
