from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from incidents.models import (
    Incident,
    QuietReminder,
    Service,
    Severity,
    StatusUpdate,
    Team,
    TimelineEntry,
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
    list_display = ["name", "meaning", "full_postmortem", "status_update_every_minutes"]
    list_editable = ["status_update_every_minutes"]


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
    raw_id_fields = ["owner", "communications_lead", "scribe"]
    filter_horizontal = ["responders", "services"]
    inlines = [TimelineEntryInline]
    readonly_fields = ["number", "version"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(SimpleHistoryAdmin):
    list_display = ["incident", "occurred_at", "kind", "source"]
    list_filter = ["kind", "source"]
    raw_id_fields = ["incident", "added_by"]


@admin.register(StatusUpdate)
class StatusUpdateAdmin(SimpleHistoryAdmin):
    list_display = ["incident", "posted_at", "audience", "author", "next_update_at"]
    list_filter = ["audience"]
    raw_id_fields = ["incident", "author", "entry"]


@admin.register(QuietReminder)
class QuietReminderAdmin(admin.ModelAdmin):
    list_display = ["incident", "created_at", "interval_number", "interval_minutes", "error"]
    raw_id_fields = ["incident"]
    readonly_fields = [field.name for field in QuietReminder._meta.fields]
