from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from incidents.admin import VisibleIncidentsOnly
from kernel.admin import delivery_log
from postmortems.models import (
    AcceptedRisk,
    Cause,
    CauseCategory,
    ConflictCopy,
    Postmortem,
    PostmortemRequest,
    Publication,
    Section,
    ShareLink,
    Why,
    WordingAcknowledgement,
    WordingRule,
)
from postmortems.publishing.summary import SUMMARY_TOPIC


class SectionInline(admin.StackedInline):
    model = Section
    extra = 0
    fields = ["position", "title", "internal", "body"]


@admin.register(Postmortem)
class PostmortemAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    list_display = ["incident", "template", "status", "due_at"]
    list_filter = ["status", "template"]
    raw_id_fields = ["incident"]
    inlines = [SectionInline]


@admin.register(Section)
class SectionAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    incident_path = "postmortem__incident"
    list_display = ["title", "postmortem", "position", "version"]
    raw_id_fields = ["postmortem"]


class WhyInline(admin.TabularInline):
    model = Why
    extra = 0


class AcceptedRiskInline(admin.TabularInline):
    model = AcceptedRisk
    extra = 0
    raw_id_fields = ["accepted_by"]
    fields = ["accepted_by", "reason", "revisit_on", "position"]


@admin.register(Cause)
class CauseAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    incident_path = "postmortem__incident"
    list_display = ["statement", "kind", "category", "postmortem"]
    list_filter = ["category"]
    raw_id_fields = ["postmortem"]
    inlines = [WhyInline, AcceptedRiskInline]


@admin.register(AcceptedRisk)
class AcceptedRiskAdmin(SimpleHistoryAdmin):
    list_display = ["reason", "cause", "accepted_by", "revisit_on"]
    list_filter = ["revisit_on"]
    raw_id_fields = ["cause", "accepted_by"]


@admin.register(CauseCategory)
class CauseCategoryAdmin(SimpleHistoryAdmin):
    list_display = ["name", "description", "position"]
    list_editable = ["position"]


@admin.register(Why)
class WhyAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    incident_path = "cause__postmortem__incident"
    list_display = ["question", "cause", "position"]
    raw_id_fields = ["cause"]


@admin.register(ConflictCopy)
class ConflictCopyAdmin(VisibleIncidentsOnly, SimpleHistoryAdmin):
    incident_path = "section__postmortem__incident"
    list_display = ["section", "author", "created_at", "resolution"]
    list_filter = ["resolution"]
    raw_id_fields = ["section", "author", "resolved_by"]


@admin.register(Publication)
class PublicationAdmin(VisibleIncidentsOnly, admin.ModelAdmin):
    """Publications are what stakeholders were shown: kept as they were, never edited."""

    incident_path = "postmortem__incident"

    list_display = ["postmortem", "number", "published_at", "published_by"]
    readonly_fields = [
        "postmortem",
        "number",
        "published_at",
        "published_by",
        "content",
        "missing",
        "override_reason",
        "summary_deliveries",
    ]

    @admin.display(description="how its summary went out")
    def summary_deliveries(self, publication: Publication) -> str:
        return delivery_log(SUMMARY_TOPIC.name, publication.pk)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(VisibleIncidentsOnly, admin.ModelAdmin):
    incident_path = "postmortem__incident"
    list_display = [
        "label",
        "postmortem",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "view_count",
    ]
    list_filter = ["share_draft", "hide_names"]
    raw_id_fields = ["postmortem", "created_by", "revoked_by"]
    # Links are made on the publishing page, where their address is shown once.
    readonly_fields = ["token_hash", "created_by", "created_at", "last_viewed_at", "view_count"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PostmortemRequest)
class PostmortemRequestAdmin(admin.ModelAdmin):
    list_display = ["postmortem", "requested_by", "created_at"]
    raw_id_fields = ["postmortem", "requested_by"]


@admin.register(WordingRule)
class WordingRuleAdmin(admin.ModelAdmin):
    """Phrases pointed out beside the text as people write, besides the built-in ones."""

    list_display = ["phrase", "why", "active"]
    list_filter = ["active"]
    search_fields = ["phrase", "why", "suggestion"]


@admin.register(WordingAcknowledgement)
class WordingAcknowledgementAdmin(admin.ModelAdmin):
    list_display = ["note_key", "postmortem", "block_kind", "acknowledged_by", "acknowledged_at"]
    raw_id_fields = ["postmortem"]
    readonly_fields = ["acknowledged_by", "acknowledged_at"]
