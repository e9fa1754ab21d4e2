from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from incidents.audit import Action, audit, audit_admin_view
from incidents.models import (
    AuditEntry,
    Incident,
    Organisation,
    QuietReminder,
    Service,
    Severity,
    StatusUpdate,
    Team,
    TeamWebhook,
    TimelineEntry,
    WebhookEvent,
)
from incidents.policy import is_audited_view, visible_incidents
from incidents.quiet import QUIET_REMINDER_TOPIC
from incidents.status_updates import STATUS_UPDATE_TOPIC
from kernel.admin import delivery_log

User = get_user_model()


def _people(pks) -> str:
    names = User.objects.filter(pk__in=pks).order_by("username").values_list("username", flat=True)
    return ", ".join(names)


class VisibleIncidentsOnly:
    """For admin pages of rows belonging to an incident: staff who are not superusers see only
    the rows of incidents they may see in the app."""

    incident_path = "incident"

    def get_queryset(self, request):
        visible = visible_incidents(request.user)
        return super().get_queryset(request).filter(**{f"{self.incident_path}__in": visible})


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "lead"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]

    def save_related(self, request, form, formsets, change):
        """Membership and lead changes made here are audited like those on the team page."""
        team = form.instance
        before = set(team.members.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(team.members.values_list("pk", flat=True))
        parts = [f"added {_people(after - before)}"] if after - before else []
        parts += [f"removed {_people(before - after)}"] if before - after else []
        if "lead" in form.changed_data:
            parts.append(f"lead is now {team.lead.get_username() if team.lead else 'nobody'}")
        if parts:
            audit(request.user, Action.MEMBERSHIP_CHANGED, team, "; ".join(parts) + ".")


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
    list_display = ["ref", "title", "severity", "status", "started_at", "owner", "team", "private"]
    list_filter = ["severity", "status", "team", "customer_facing", "private"]
    search_fields = ["title"]
    raw_id_fields = ["owner", "communications_lead", "scribe"]
    filter_horizontal = ["responders", "services", "viewers"]
    inlines = [TimelineEntryInline]
    readonly_fields = ["number", "version"]

    def get_queryset(self, request):
        # Staff who are not superusers see in the admin only what they may see in the app.
        return visible_incidents(request.user, super().get_queryset(request))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_queryset(request).filter(pk=object_id).first()
        if incident is not None and is_audited_view(request.user, incident):
            audit_admin_view(request.user, incident, "In the admin site.")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(TimelineEntry)
class TimelineEntryAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    list_display = ["incident", "occurred_at", "kind", "source"]
    list_filter = ["kind", "source"]
    raw_id_fields = ["incident", "added_by"]


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    """One row of settings: it can be changed, never added twice or deleted."""

    def has_add_permission(self, request):
        return not Organisation.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.changed_data:
            changes = ", ".join(f"{name} = {form.cleaned_data[name]}" for name in form.changed_data)
            audit(request.user, Action.SETTINGS_CHANGED, obj, changes)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only: an audit log that can be edited is not one."""

    list_display = ["at", "actor", "action", "target", "detail"]
    list_filter = ["action"]
    search_fields = ["target", "detail", "actor__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedUserAdmin(UserAdmin):
    """Role changes (admin, staff, the read-only group, active) are written to the audit log."""

    ROLE_FIELDS = ("is_superuser", "is_staff", "is_active")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [name for name in self.ROLE_FIELDS if name in form.changed_data]
        if changed:
            detail = ", ".join(f"{name} = {getattr(obj, name)}" for name in changed)
            audit(request.user, Action.ROLE_CHANGED, obj.get_username(), detail)

    def save_related(self, request, form, formsets, change):
        user = form.instance
        before = set(user.groups.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(user.groups.values_list("name", flat=True))
        if before != after:
            detail = f"Groups: {', '.join(sorted(after)) or 'none'}."
            audit(request.user, Action.ROLE_CHANGED, user.get_username(), detail)


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)


@admin.register(StatusUpdate)
class StatusUpdateAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    list_display = ["incident", "posted_at", "audience", "author", "next_update_at"]
    list_filter = ["audience"]
    raw_id_fields = ["incident", "author", "entry"]
    readonly_fields = ["deliveries"]

    @admin.display(description="how it went out")
    def deliveries(self, update: StatusUpdate) -> str:
        return delivery_log(STATUS_UPDATE_TOPIC.name, update.pk)


@admin.register(QuietReminder)
class QuietReminderAdmin(VisibleIncidentsOnly, admin.ModelAdmin):
    list_display = ["incident", "created_at", "interval_number", "interval_minutes", "deliveries"]
    raw_id_fields = ["incident"]
    readonly_fields = [field.name for field in QuietReminder._meta.fields] + ["deliveries"]

    @admin.display(description="how it went out")
    def deliveries(self, reminder: QuietReminder) -> str:
        return delivery_log(QUIET_REMINDER_TOPIC.name, reminder.pk)

    def has_add_permission(self, request) -> bool:
        return False


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
