from django.contrib import admin, messages

from kernel.delivery import send_again
from kernel.models import Delivery


def delivery_log(topic: str, subject_id: int) -> str:
    """How the deliveries of one topic row went, in a line, for the admin of its owner."""
    rows = Delivery.objects.filter(topic=topic, subject_id=subject_id).order_by("pk")
    return (
        "; ".join(
            f"{row.where}: {row.get_status_display()}" + (f" ({row.error})" if row.error else "")
            for row in rows
        )
        or "Nothing sent."
    )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every message that went out or tried to, read-only."""

    list_display = ["created_at", "topic", "subject_id", "where", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "topic"]
    search_fields = ["error"]
    date_hierarchy = "created_at"
    actions = ["send_selected_again"]
    readonly_fields = [f.name for f in Delivery._meta.fields] + ["where"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The log is read as it is; the one change allowed is the "send again" action.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Send the selected failed deliveries again", permissions=["change"])
    def send_selected_again(self, request, queryset) -> None:
        count = send_again(queryset)
        self.message_user(
            request, f"{count} failed deliveries are back in the queue.", messages.SUCCESS
        )
