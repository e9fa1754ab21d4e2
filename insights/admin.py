from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from insights.models import QuarterlyDigest, Recurrence


@admin.register(Recurrence)
class RecurrenceAdmin(SimpleHistoryAdmin):
    list_display = ["incident", "earlier", "decision", "decided_by", "decided_at"]
    list_filter = ["decision"]
    raw_id_fields = ["incident", "earlier"]


@admin.register(QuarterlyDigest)
class QuarterlyDigestAdmin(admin.ModelAdmin):
    list_display = ["team", "period_start", "recipient", "sent_at"]
    list_filter = ["period_start"]
    readonly_fields = ["team", "lead", "period_start", "recipient", "sent_at"]
