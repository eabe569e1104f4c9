from django.contrib import admin

from refunddesk.status.models import CompensationRun, Incident, IncidentUpdate, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_zh", "position")
    list_editable = ("position",)
    search_fields = ("code", "name_en", "name_zh")


class UpdateInline(admin.TabularInline):
    model = IncidentUpdate
    extra = 0


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("id", "title_en", "severity", "started_at", "ended_at", "force_majeure")
    list_filter = ("severity", "force_majeure", "regions")
    search_fields = ("title_en", "title_zh", "cause", "external_ref")
    date_hierarchy = "started_at"
    filter_horizontal = ("regions",)
    inlines = [UpdateInline]


@admin.register(CompensationRun)
class CompensationRunAdmin(admin.ModelAdmin):
    list_display = ("id", "incident", "status", "processed", "total", "created", "approved", "review", "rejected",
                    "skipped", "applied", "created_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in CompensationRun._meta.fields]
