"""The admin site's view of premortems.

Staff see the premortems they may see in the app. Reasons obey the same rule as every page:
before the reveal, a reason is listed only to its author; the admin site does not edit reasons
or votes (they are what people wrote and cast), and keeps no history view of them, whose rows
would carry the text.
"""

from django.contrib import admin
from django.db.models import Q
from simple_history.admin import SimpleHistoryAdmin

from incidents.policy import visible_team_records
from premortems.models import Premortem, Reason, ReasonGroup, Vote


@admin.register(Premortem)
class PremortemAdmin(SimpleHistoryAdmin):
    list_display = ("title", "team", "facilitator", "phase", "planned_for", "private")
    list_filter = ("phase", "private", "team")
    search_fields = ("title",)
    readonly_fields = ("phase", "writing_ends_at", "revealed_at", "version")
    filter_horizontal = ("participants",)

    def get_queryset(self, request):
        return visible_team_records(request.user, super().get_queryset(request))


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Reason)
class ReasonAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("__str__", "premortem", "group", "created_at")
    list_select_related = ("premortem", "group")

    def get_queryset(self, request):
        premortems = visible_team_records(request.user, Premortem.objects.all())
        return (
            super()
            .get_queryset(request)
            .filter(premortem__in=premortems)
            .filter(~Q(premortem__phase=Premortem.Phase.WRITING) | Q(author=request.user))
        )


@admin.register(ReasonGroup)
class ReasonGroupAdmin(SimpleHistoryAdmin):
    list_display = ("title", "premortem")
    list_select_related = ("premortem",)

    def get_queryset(self, request):
        premortems = visible_team_records(request.user, Premortem.objects.all())
        return super().get_queryset(request).filter(premortem__in=premortems)


@admin.register(Vote)
class VoteAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("group", "voter", "created_at")
    list_select_related = ("group", "voter")

    def get_queryset(self, request):
        premortems = visible_team_records(request.user, Premortem.objects.all())
        return super().get_queryset(request).filter(group__premortem__in=premortems)
