from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from postmortems.models import Cause, ConflictCopy, Postmortem, Section, Why


class SectionInline(admin.StackedInline):
    model = Section
    extra = 0
    fields = ["position", "title", "internal", "body"]


@admin.register(Postmortem)
class PostmortemAdmin(SimpleHistoryAdmin):
    list_display = ["incident", "template", "status", "due_at"]
    list_filter = ["status", "template"]
    raw_id_fields = ["incident"]
    inlines = [SectionInline]


@admin.register(Section)
class SectionAdmin(SimpleHistoryAdmin):
    list_display = ["title", "postmortem", "position", "version"]
    raw_id_fields = ["postmortem"]


class WhyInline(admin.TabularInline):
    model = Why
    extra = 0


@admin.register(Cause)
class CauseAdmin(SimpleHistoryAdmin):
    list_display = ["statement", "kind", "postmortem"]
    raw_id_fields = ["postmortem"]
    inlines = [WhyInline]


@admin.register(Why)
class WhyAdmin(SimpleHistoryAdmin):
    list_display = ["question", "cause", "position"]
    raw_id_fields = ["cause"]


@admin.register(ConflictCopy)
class ConflictCopyAdmin(SimpleHistoryAdmin):
    list_display = ["section", "author", "created_at", "resolution"]
    list_filter = ["resolution"]
    raw_id_fields = ["section", "author", "resolved_by"]
