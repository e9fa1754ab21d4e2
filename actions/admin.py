from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from actions.models import ActionItem


@admin.register(ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    list_display = ["title", "incident", "owner", "due_date", "kind", "status"]
    list_filter = ["status", "kind"]
    search_fields = ["title"]
    raw_id_fields = ["incident", "owner", "cause", "created_by"]
