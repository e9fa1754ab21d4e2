from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from incidents.models import (
    Incident,
    Service,
    Severity,
    Team,
    TeamWebhook,
    TimelineEntry,
    WebhookEvent,
)


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "lead"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ["name", "team"]
    list_filter = ["team"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Severity)
class SeverityAdmin(SimpleHistoryAdmin):
    list_display = ["name", "meaning", "full_postmortem"]


class TimelineEntryInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    fields = ["occurred_at", "kind", "text", "added_by", "source"]
    raw_id_fields = ["added_by"]


@admin.register(Incident)
class IncidentAdmin(SimpleHistoryAdmin):
    list_display = ["ref", "title", "severity", "status", "started_at", "owner", "team"]
    list_filter = ["severity", "status", "team", "customer_facing", "private"]
    search_fields = ["title"]
    raw_id_fields = ["owner"]
    filter_horizontal = ["responders", "services"]
    inlines = [TimelineEntryInline]
    readonly_fields = ["number", "version"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(SimpleHistoryAdmin):
    list_display = ["incident", "occurred_at", "kind", "source"]
    list_filter = ["kind", "source"]
    raw_id_fields = ["incident", "added_by"]


@admin.register(TeamWebhook)
class TeamWebhookAdmin(admin.ModelAdmin):
    """Webhooks are added on the team's page, where the secret is shown once; here they are
    listed, switched off or removed. The secret is never shown."""

    list_display = ["team", "host", "active", "created_by", "created_at"]
    list_filter = ["team", "active"]
    fields = ["team", "url", "description", "events", "active", "created_by", "created_at"]
    readonly_fields = ["team", "url", "events", "created_by", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """What was raised for each team; how each send went is in Deliveries."""

    list_display = ["id", "event", "team", "created_at"]
    list_filter = ["event", "team"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
