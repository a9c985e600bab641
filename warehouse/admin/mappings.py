"""Customer mappings: list, search, filter, CSV/XLSX import with preview and export, history, and the
unmapped-buildings page with one-click "map" or "let the sync create it"."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from import_export.forms import ExportForm, ImportForm

from greenlight.admin_tools import GuardedHistoryAdmin, ReasonField
from warehouse.mapping_import import (
    FORMATS,
    FileProblem,
    check_dataset,
    check_size,
    import_job,
    read_dataset,
    summarise,
)
from warehouse.models import CustomerMapping, DimBuilding, MappingImport, SfCustomerCache
from warehouse.resources import ID_MAX, IMPORT_COLUMNS, REASON_MAX, CustomerMappingResource

from .imports import (
    MappingConfirmForm,
    claim,
    confirm_initial,
    confirmable,
    refused,
    start_background_import,
    store_import,
)
from .unmapped import unmapped_buildings_view


class MappingImportForm(ImportForm):
    """The upload form: the file is read and checked as a whole before any row is looked at."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self._formats = formats
        self.dataset = None
        self.fields["import_file"].help_text = (
            f"CSV (UTF-8; Excel's byte-order mark is fine) or XLSX. Up to "
            f"{settings.MAPPING_IMPORT_MAX_ROWS:,} rows; files over "
            f"{settings.MAPPING_IMPORT_BACKGROUND_ROWS:,} rows are checked and imported in the background."
        )

    def clean(self):
        cleaned = super().clean()
        upload, fmt_index = cleaned.get("import_file"), cleaned.get("format")
        if upload is None or fmt_index in (None, ""):
            return cleaned
        try:
            check_size(upload.size)  # before a byte is read: Django has spooled a large upload to disk
            data = upload.read(settings.MAPPING_IMPORT_MAX_BYTES + 1)
            upload.seek(0)
            self.dataset = read_dataset(data, self._formats[int(fmt_index)])
            check_dataset(self.dataset)
        except FileProblem as exc:
            self.add_error("import_file", str(exc))
            return cleaned
        self.raw = data
        return cleaned


class SfCustomerNameFilter(admin.SimpleListFilter):
    title = "SF customer"
    parameter_name = "has_sf_customer"

    def lookups(self, request, model_admin):
        return [("yes", "Set"), ("no", "Not set")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(sf_customer_id__isnull=False)
        if self.value() == "no":
            return queryset.filter(sf_customer_id__isnull=True)
        return queryset


class CustomerMappingForm(forms.ModelForm):
    reason = ReasonField(max_length=REASON_MAX)

    class Meta:
        model = CustomerMapping
        fields = ("entity_type", "pw_portfolio_id", "pw_building_id", "sf_customer_id", "status")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are positive and fit the BIGINT columns on every database (SQLite sets no bound of its own).
        for name in ("pw_portfolio_id", "pw_building_id", "sf_customer_id"):
            if name in self.fields:
                self.fields[name].validators += [MinValueValidator(1), MaxValueValidator(ID_MAX)]

    def clean_sf_customer_id(self):
        value = self.cleaned_data.get("sf_customer_id")
        if value is not None and not SfCustomerCache.objects.filter(sf_customer_id=value).exists():
            raise forms.ValidationError(
                f"SF customer {value} is unknown: it is not among the customers the last sync read."
            )
        return value

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("sf_customer_id") is not None:
            cleaned["status"] = "mapped"
        elif cleaned.get("status") == "mapped":
            self.add_error("sf_customer_id", "Required when the status is mapped.")
        return cleaned


@admin.register(CustomerMapping)
class CustomerMappingAdmin(ImportExportModelAdmin, GuardedHistoryAdmin):
    resource_classes = [CustomerMappingResource]
    import_form_class = MappingImportForm
    # Every column, always: a file missing its key columns could not be imported back.
    export_form_class = ExportForm
    import_template_name = "admin/warehouse/customermapping/import.html"
    change_list_template = "admin/warehouse/customermapping/change_list.html"
    to_encoding = "utf-8-sig"  # Excel opens a UTF-8 CSV correctly only with the byte-order mark
    form = CustomerMappingForm
    list_display = (
        "entity_type", "pw_portfolio_id", "pw_building_id", "building_name", "sf_customer_id",
        "sf_customer_name", "status", "method", "confidence", "updated_at",
    )
    list_display_links = ("entity_type", "pw_portfolio_id")
    list_filter = ("entity_type", "status", "method", SfCustomerNameFilter)
    search_fields = ("=pw_portfolio_id", "=pw_building_id", "=sf_customer_id", "building_name",
                     "sf_customer_name")
    search_help_text = "A PW portfolio, building or SF customer id, or part of a building or customer name."
    list_per_page = 50
    ordering = ("entity_type", "pw_portfolio_id", "pw_building_id")
    readonly_fields = ("confidence", "method", "created_at", "updated_at")
    history_list_display = ("status", "sf_customer_id", "method")

    @property
    def import_formats(self):
        return list(FORMATS)

    @property
    def export_formats(self):
        return list(FORMATS)

    def get_queryset(self, request):
        buildings = DimBuilding.objects.current().filter(building_id=OuterRef("pw_building_id"))
        customers = SfCustomerCache.objects.filter(sf_customer_id=OuterRef("sf_customer_id"))
        return super().get_queryset(request).annotate(
            building_name=Subquery(buildings.values("name")[:1]),
            sf_customer_name=Subquery(customers.values("name")[:1]),
        )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:  # the natural key never changes; a different building is a different row
            fields += ["entity_type", "pw_portfolio_id", "pw_building_id"]
        return fields

    @admin.display(description="Building", ordering="building_name")
    def building_name(self, obj):
        return obj.building_name or ""

    @admin.display(description="SF customer", ordering="sf_customer_name")
    def sf_customer_name(self, obj):
        return obj.sf_customer_name or ""

    def save_model(self, request, obj, form, change):
        obj.method, obj.confidence = "manual", 1.0 if obj.sf_customer_id is not None else 0.0
        obj._change_reason = form.cleaned_data["reason"]
        super().save_model(request, obj, form, change)

    def get_urls(self):
        info = (self.opts.app_label, self.opts.model_name)
        return [
            path("unmapped/", self.admin_site.admin_view(self.unmapped_view),
                 name="{}_{}_unmapped".format(*info)),
        ] + super().get_urls()

    def unmapped_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return unmapped_buildings_view(self, request)

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context["unmapped_url"] = reverse("admin:warehouse_customermapping_unmapped")
        return super().changelist_view(request, extra_context)

    def import_action(self, request, **kwargs):
        """Small files: a preview, then confirm. Large files: checked and imported by a background task (a
        web request would time out), tracked on a mapping-import page. Either way the file is stored and
        the confirm step names it, so what is imported is the file that was checked."""
        if request.method == "POST" and self.has_import_permission(request):
            form = self.create_import_form(request)
            if form.is_valid():
                if len(form.dataset) > settings.MAPPING_IMPORT_BACKGROUND_ROWS:
                    job = start_background_import(request, form)
                    messages.info(request, format_html(
                        "{} has {} rows, so it is being checked in the background. Nothing is imported until "
                        "you confirm on its page.", job.file_name, f"{job.row_count:,}"))
                    return HttpResponseRedirect(reverse("admin:warehouse_mappingimport_change",
                                                        args=[job.pk]))
                return self._preview(request, form)
        return super().import_action(request, **kwargs)

    def _preview(self, request, form):
        upload = form.cleaned_data["import_file"]
        result = CustomerMappingResource().import_data(
            form.dataset, dry_run=True, raise_errors=False, file_name=upload.name, user=request.user)
        context = {**self.get_import_context_data(), **self.admin_site.each_context(request),
                   "title": "Import", "form": form, "opts": self.opts, "media": self.media + form.media,
                   "result": result, "import_error_display": self.import_error_display,
                   "fields_list": [("customer mapping", list(IMPORT_COLUMNS))]}
        if not (result.has_errors() or result.has_validation_errors()):
            job = store_import(request, form, MappingImport.State.READY)
            job.preview = summarise(result)
            job.save(update_fields=["preview"])
            context["confirm_form"] = MappingConfirmForm(initial=confirm_initial(job))
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def process_import(self, request, **kwargs):
        """The confirm step: re-read and re-check the stored file and import all of it, or nothing."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = MappingConfirmForm(request.POST)
        form.is_valid()
        posted = {name: form.cleaned_data.get(name) for name in ("import_id", "original_file_name", "format")}
        job = confirmable(request, posted["import_id"], posted=posted)
        if not isinstance(job, MappingImport):
            return job
        page = reverse("admin:warehouse_mappingimport_change", args=[job.pk])
        if "reason" in form.errors:
            messages.error(request, " ".join(str(e) for e in form.errors["reason"])
                           + " Nothing was imported; confirm here.")
            return HttpResponseRedirect(page)
        if not claim(request, job, form.cleaned_data["reason"]):
            return refused(f"{job.file_name} is already being imported.")
        job = import_job(MappingImport.objects.get(pk=job.pk))
        if job.state != MappingImport.State.DONE:
            shown = "; ".join(
                f"line {row['line']}, {field}: {message}"
                for row in job.preview.get("invalid_rows", [])[:5]
                for field, errors in row["errors"].items() for message in errors
            )
            messages.error(request, f"{job.error} {shown}".strip())
            return HttpResponseRedirect(page)
        totals = job.result
        messages.success(request, f"Import finished: {totals['new']} new, {totals['changed']} changed, "
                                  f"{totals['unchanged']} unchanged mappings.")
        return HttpResponseRedirect(reverse("admin:warehouse_customermapping_changelist"))

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["background_rows"] = settings.MAPPING_IMPORT_BACKGROUND_ROWS
        return context
