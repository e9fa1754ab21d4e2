from django.contrib import admin

from api.models import AlertDelivery, AlertLink, AlertMapping, AlertSource, ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "scope", "prefix", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "user__username"]
    # Tokens are made by their owner (or create_api_token); the admin only sees and revokes.
    readonly_fields = ["user", "name", "scope", "prefix", "expires_at", "last_used_at"]
    fields = [*readonly_fields, "revoked_at"]

    def has_add_permission(self, request):
        return False


class AlertMappingInline(admin.TabularInline):
    model = AlertMapping
    extra = 1


@admin.register(AlertSource)
class AlertSourceAdmin(admin.ModelAdmin):
    list_display = ["kind", "enabled", "mitigate_on_resolve", "default_severity", "default_team"]
    inlines = [AlertMappingInline]


@admin.register(AlertMapping)
class AlertMappingAdmin(admin.ModelAdmin):
    list_display = ["label", "value", "source", "severity", "service", "team", "position"]
    list_filter = ["source", "label"]


@admin.register(AlertLink)
class AlertLinkAdmin(admin.ModelAdmin):
    list_display = ["source", "dedup_key", "incident", "open", "created_at"]
    list_filter = ["source", "open"]
    search_fields = ["dedup_key"]
    readonly_fields = ["source", "dedup_key", "incident", "created_at"]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ["source", "delivery_id", "status", "link", "received_at"]
    list_filter = ["source", "status"]
    readonly_fields = ["source", "delivery_id", "status", "link", "received_at"]
