"""The admin shows organisations and staff only: no family data is reachable from it."""

from django.contrib import admin

from kinfold.organizations.models import Membership, Organization, Partnership


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "region", "is_part2_program"]
    list_filter = ["type", "is_part2_program"]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "placed_at", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__username", "user__last_name", "organization__name"]
    autocomplete_fields = ["organization", "placed_at", "user"]


admin.site.register(Partnership)
