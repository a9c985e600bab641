"""django-import-export resource for customer mappings: the CSV/XLSX staff fill in and load back.
Rows are matched by their natural key (entity_type, pw_portfolio_id, pw_building_id), never by the
surrogate key; descriptive columns are exported to help whoever fills the sheet in, ignored on import.
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets
from import_export.instance_loaders import BaseInstanceLoader

from warehouse.models import CustomerMapping, DimBuilding, DimPortfolio, SfCustomerCache

KEY_COLUMNS = ("entity_type", "pw_portfolio_id", "pw_building_id")
IMPORT_COLUMNS = (*KEY_COLUMNS, "sf_customer_id", "status")
HEADER_LINE = ",".join(IMPORT_COLUMNS)
INFO_COLUMNS = (
    "portfolio_name", "building_name", "building_address", "sf_customer_name", "confidence", "method",
    "updated_at",
)
IMPORTABLE_STATUSES = ("mapped", "unmapped", "review", "create")

# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection). The
# library's IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only strips a leading "=", so free text from
# PropertyWare and ServiceFusion (names, addresses) is also quoted here, OWASP-style.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(text: str) -> str:
    return "'" + text if text and text.startswith(_FORMULA_START) else text


ID_MAX = 2**63 - 1  # PW and SF ids are stored in BigIntegerField columns: signed 64-bit everywhere
_WHOLE_NUMBER = re.compile(r"[+-]?\d+(?:\.0*)?")  # "12", and "12.0" as Excel writes whole numbers
REASON_MAX = 80  # the history's reason column holds 100 characters; an import adds its file name


class StrictIntegerWidget(widgets.IntegerWidget):
    """Ids only: whole numbers from 1 to ID_MAX. "12" and Excel's "12.0" read as 12; "12.5", "1e3", "inf",
    "-1", text and out-of-range numbers are refused with a clear message."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            number = int(value)  # an XLSX numeric cell; beyond 2**53 a float no longer holds an id exactly
        elif isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if not _WHOLE_NUMBER.fullmatch(text):
                raise ValueError(f"expected a whole number, got {text!r}")
            number = int(text.split(".")[0])
        if not 1 <= number <= ID_MAX:
            raise ValueError(f"must be an id from 1 to {ID_MAX}, got {value}")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


def change_reason(reason: str, file_name: str) -> str:
    """The history's reason for an imported row: staff's reason and the file, within its 100 characters."""
    room = 100 - len(reason) - len(" (import of )")
    name = file_name if len(file_name) <= room else file_name[:max(room - 1, 0)] + "…"
    return f"{reason} (import of {name})" if reason else f"imported from {file_name}"[:100]


def natural_key(entity_type, portfolio_id, building_id) -> tuple:
    return (str(entity_type or "").strip().lower(), portfolio_id, building_id)


class NaturalKeyInstanceLoader(BaseInstanceLoader):
    """The existing mappings of a file, read in one query and found by natural key.

    The library's cached loader handles a single id column only; row by row, the three-column lookup was
    most of an import's time.
    """

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        widget = StrictIntegerWidget()
        portfolios = set()
        for row in (dataset.dict if dataset is not None else []):
            try:
                portfolios.add(widget.clean(row.get("pw_portfolio_id")))
            except ValueError:
                continue
        self.instances = {
            natural_key(m.entity_type, m.pw_portfolio_id, m.pw_building_id): m
            for m in CustomerMapping.objects.filter(pw_portfolio_id__in=portfolios - {None})
        }

    def get_instance(self, row):
        widget = StrictIntegerWidget()
        key = natural_key(row.get("entity_type"), widget.clean(row.get("pw_portfolio_id")),
                          widget.clean(row.get("pw_building_id")))
        return self.instances.get(key)


class CustomerMappingResource(resources.ModelResource):
    entity_type = fields.Field(attribute="entity_type", column_name="entity_type")
    pw_portfolio_id = fields.Field(attribute="pw_portfolio_id", column_name="pw_portfolio_id",
                                   widget=StrictIntegerWidget())
    pw_building_id = fields.Field(attribute="pw_building_id", column_name="pw_building_id",
                                  widget=StrictIntegerWidget())
    sf_customer_id = fields.Field(attribute="sf_customer_id", column_name="sf_customer_id",
                                  widget=StrictIntegerWidget())
    status = fields.Field(attribute="status", column_name="status")
    portfolio_name = fields.Field(column_name="portfolio_name", readonly=True)
    building_name = fields.Field(column_name="building_name", readonly=True)
    building_address = fields.Field(column_name="building_address", readonly=True)
    sf_customer_name = fields.Field(column_name="sf_customer_name", readonly=True)
    confidence = fields.Field(attribute="confidence", column_name="confidence", readonly=True)
    method = fields.Field(attribute="method", column_name="method", readonly=True)
    updated_at = fields.Field(attribute="updated_at", column_name="updated_at", readonly=True,
                              widget=widgets.DateTimeWidget(format="%Y-%m-%d %H:%M:%S"))

    class Meta:
        model = CustomerMapping
        import_id_fields = KEY_COLUMNS
        instance_loader_class = NaturalKeyInstanceLoader
        fields = (*IMPORT_COLUMNS, *INFO_COLUMNS)
        export_order = (*IMPORT_COLUMNS, *INFO_COLUMNS)
        import_order = IMPORT_COLUMNS
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    # --- export ---------------------------------------------------------------------------------

    def before_export(self, queryset, **kwargs):
        # Look the descriptive columns up once for the whole export rather than per row.
        rows = list(queryset)
        portfolio_ids = {r.pw_portfolio_id for r in rows}
        building_ids = {r.pw_building_id for r in rows if r.pw_building_id is not None}
        sf_ids = {r.sf_customer_id for r in rows if r.sf_customer_id is not None}
        self._portfolios = dict(
            DimPortfolio.objects.current().filter(portfolio_id__in=portfolio_ids).values_list("portfolio_id",
                                                                                             "name")
        )
        self._buildings = {
            b["building_id"]: b
            for b in DimBuilding.objects.current().filter(building_id__in=building_ids)
            .values("building_id", "name", "address", "city", "state", "zip")
        }
        self._sf_names = dict(
            SfCustomerCache.objects.filter(sf_customer_id__in=sf_ids).values_list("sf_customer_id", "name")
        )
        return super().before_export(queryset, **kwargs)

    def _lookup(self, name: str) -> dict:
        return getattr(self, name, None) or {}

    def dehydrate_portfolio_name(self, obj) -> str:
        return escape_cell(self._lookup("_portfolios").get(obj.pw_portfolio_id, ""))

    def dehydrate_building_name(self, obj) -> str:
        building = self._lookup("_buildings").get(obj.pw_building_id)
        return escape_cell(building["name"]) if building else ""

    def dehydrate_building_address(self, obj) -> str:
        b = self._lookup("_buildings").get(obj.pw_building_id)
        if not b:
            return ""
        return escape_cell(", ".join(p for p in (b["address"], b["city"], f"{b['state']} {b['zip']}".strip())
                                     if p))

    def dehydrate_sf_customer_name(self, obj) -> str:
        return escape_cell(self._lookup("_sf_names").get(obj.sf_customer_id, ""))

    # --- import ---------------------------------------------------------------------------------

    def before_import(self, dataset, **kwargs):
        if dataset.headers:
            dataset.headers = [str(h or "").strip() for h in dataset.headers]
        # One query each for what the rows are checked against, instead of three per row.
        portfolio_ids: set[int] = set()
        building_ids: set[int] = set()
        sf_ids: set[int] = set()
        for row in dataset.dict:
            for column, bucket in (("pw_portfolio_id", portfolio_ids), ("pw_building_id", building_ids),
                                   ("sf_customer_id", sf_ids)):
                try:
                    value = StrictIntegerWidget().clean(row.get(column))
                except ValueError:
                    continue
                if value is not None:
                    bucket.add(value)
        self._known_portfolios = set(
            DimPortfolio.objects.current().filter(portfolio_id__in=portfolio_ids)
            .values_list("portfolio_id", flat=True)
        )
        self._building_portfolio = dict(
            DimBuilding.objects.current().filter(building_id__in=building_ids)
            .values_list("building_id", "portfolio_id")
        )
        self._known_sf = set(
            SfCustomerCache.objects.filter(sf_customer_id__in=sf_ids).values_list("sf_customer_id", flat=True)
        )
        return super().before_import(dataset, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list[str]] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        self._check_row(instance, row, errors)
        # The status follows the SF customer id unless the row names one; set before any error is raised
        # so a bad row is reported for what is wrong with it, not for a status left blank.
        if instance.sf_customer_id is not None and "status" not in errors:
            instance.status = "mapped"
        elif not (row.get("status") or "").strip():
            instance.status = "unmapped"
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # Field validation only. The model's constraints (one row per natural key, the entity shape) are
        # what _check_row, the natural-key loader and the file's duplicate check already guarantee, and
        # the database still enforces them; checking them here cost several queries per row.
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=errors.keys(), validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def get_import_fields(self):
        # Only these columns are read, compared for "unchanged" and shown in the preview; the descriptive
        # columns of an export ride along and are ignored.
        return [self.fields[name] for name in IMPORT_COLUMNS]

    def before_save_instance(self, instance, row, **kwargs):
        # Set here, not while reading the row: a row is "unchanged" by its imported columns alone.
        instance.method = "import"
        instance.confidence = 1.0 if instance.sf_customer_id is not None else 0.0
        # The admin's history middleware is absent in a background task: say who imported, and why.
        user = kwargs.get("user")
        if user is not None and getattr(user, "pk", None):
            instance._history_user = user
        instance._change_reason = change_reason(kwargs.get("reason") or "",
                                                kwargs.get("file_name") or "a file")
        super().before_save_instance(instance, row, **kwargs)

    def before_import_row(self, row, **kwargs):
        # Natural-key lookups compare exactly; "Building " and "building" are the same entity type.
        if "entity_type" in row:
            row["entity_type"] = str(row["entity_type"] or "").strip().lower()
        super().before_import_row(row, **kwargs)

    def get_instance(self, instance_loader, row):
        # A key that does not parse cannot match a row; import_instance then reports the field error
        # (the library would raise from the lookup and show a traceback instead).
        try:
            for column in KEY_COLUMNS[1:]:
                StrictIntegerWidget().clean(row.get(column))
        except ValueError:
            return None
        return super().get_instance(instance_loader, row)

    # Every row is checked against the warehouse: the portfolio and building must exist, the building must
    # belong to the portfolio, and an SF customer id must be one the last sync read.
    def _check_row(self, instance, row, errors: dict[str, list[str]]) -> None:
        def add(field: str, message: str) -> None:
            if field not in errors:
                errors.setdefault(field, []).append(message)

        entity = (row.get("entity_type") or "").strip().lower()
        instance.entity_type = entity
        if entity not in ("portfolio", "building"):
            add("entity_type", f"must be portfolio or building, got {row.get('entity_type')!r}")
        if instance.pw_portfolio_id is None:
            add("pw_portfolio_id", "required")
        elif instance.pw_portfolio_id not in getattr(self, "_known_portfolios", set()):
            add("pw_portfolio_id", f"portfolio {instance.pw_portfolio_id} is not in the warehouse")
        if entity == "building":
            if instance.pw_building_id is None:
                add("pw_building_id", "required for a building row")
            else:
                owner = getattr(self, "_building_portfolio", {}).get(instance.pw_building_id, "missing")
                if owner == "missing":
                    add("pw_building_id", f"building {instance.pw_building_id} is not in the warehouse")
                elif instance.pw_portfolio_id is not None and owner != instance.pw_portfolio_id:
                    add("pw_building_id", f"building {instance.pw_building_id} belongs to portfolio {owner}, "
                                          f"not {instance.pw_portfolio_id}")
        elif entity == "portfolio" and instance.pw_building_id is not None:
            add("pw_building_id", "must be empty for a portfolio row")
        status = (row.get("status") or "").strip().lower()
        if status and status not in IMPORTABLE_STATUSES:
            add("status", f"must be one of {', '.join(IMPORTABLE_STATUSES)} (or empty), got {status!r}")
        if instance.sf_customer_id is not None:
            if instance.sf_customer_id not in getattr(self, "_known_sf", set()):
                add("sf_customer_id", f"SF customer {instance.sf_customer_id} is unknown: it is not among "
                                      f"the customers the last sync read")
            if status and status != "mapped":
                add("status", f"{status!r} contradicts the SF customer id; use mapped or leave it empty")
        elif status == "mapped":
            add("sf_customer_id", "required when status is mapped")
        if status:
            instance.status = status
