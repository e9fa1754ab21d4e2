from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from insights.models import Recurrence


@admin.register(Recurrence)
class RecurrenceAdmin(SimpleHistoryAdmin):
    list_display = ["incident", "earlier", "decision", "decided_by", "decided_at"]
    list_filter = ["decision"]
    raw_id_fields = ["incident", "earlier"]
