from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from actions.models import (
    ActionItem,
    MeetingAttendee,
    MeetingDecision,
    MeetingDissent,
    Nag,
    NagLine,
    NagPreference,
    ReviewMeeting,
    Ticket,
    TrackerConnection,
    WeeklyReview,
)
from actions.nags import REMINDER_TOPIC
from incidents.admin import VisibleIncidentsOnly
from kernel.admin import delivery_log


@admin.register(ActionItem)
class ActionItemAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    list_display = ["title", "incident", "owner", "team", "priority", "due_date", "status"]
    list_filter = ["status", "priority", "kind", "impact", "effort", "team"]
    search_fields = ["title"]
    raw_id_fields = ["incident", "owner", "cause", "created_by"]


class NagLineInline(admin.TabularInline):
    model = NagLine
    extra = 0
    raw_id_fields = ["action_item", "postmortem"]


@admin.register(Nag)
class NagAdmin(admin.ModelAdmin):
    """Every reminder sent, with what it listed; how each channel went is in the delivery log."""

    list_display = ["recipient", "period", "created_at"]
    list_filter = ["period"]
    raw_id_fields = ["recipient"]
    inlines = [NagLineInline]
    readonly_fields = ["deliveries"]

    @admin.display(description="how it went out")
    def deliveries(self, nag: Nag) -> str:
        return delivery_log(REMINDER_TOPIC.name, nag.pk)


@admin.register(NagPreference)
class NagPreferenceAdmin(SimpleHistoryAdmin):
    list_display = ["user", "by_email", "by_slack", "paused_until"]
    raw_id_fields = ["user"]


@admin.register(WeeklyReview)
class WeeklyReviewAdmin(SimpleHistoryAdmin):
    list_display = ["team", "week", "reviewed_by", "open_count", "overdue_count"]
    list_filter = ["team"]


class MeetingAttendeeInline(admin.TabularInline):
    model = MeetingAttendee
    extra = 0
    raw_id_fields = ["user"]


class MeetingDecisionInline(admin.TabularInline):
    model = MeetingDecision
    extra = 0
    raw_id_fields = ["recorded_by"]


class MeetingDissentInline(admin.TabularInline):
    """Consent is given by the author on the meeting page, never here."""

    model = MeetingDissent
    extra = 0
    raw_id_fields = ["author", "written_by"]
    readonly_fields = ["consented_at"]


@admin.register(ReviewMeeting)
class ReviewMeetingAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    list_display = ["incident", "scheduled_at", "held_on", "recorded_by"]
    raw_id_fields = ["incident", "recorded_by"]
    inlines = [MeetingAttendeeInline, MeetingDecisionInline, MeetingDissentInline]


@admin.register(TrackerConnection)
class TrackerConnectionAdmin(admin.ModelAdmin):
    """Connected on the team's tracker page, where the token is typed; never shown here."""

    list_display = ["team", "tracker", "project", "base_url", "created_at"]
    fields = ["team", "tracker", "base_url", "project", "username", "token_env", "labels"]
    readonly_fields = ["team", "tracker"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["key", "action_item", "connection", "closed_at", "created_at"]
    list_filter = ["connection"]
    search_fields = ["key", "url"]
    raw_id_fields = ["action_item"]
