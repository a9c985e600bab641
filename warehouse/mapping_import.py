"""Reading and checking customer-mapping files before django-import-export sees them, and the
background tasks that check and import large files.
"""
from __future__ import annotations

import logging
from collections import defaultdict

import tablib
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone
from import_export.formats import base_formats
from import_export.results import RowResult

from warehouse.models import MappingImport
from warehouse.resources import (
    IMPORT_COLUMNS,
    INFO_COLUMNS,
    KEY_COLUMNS,
    CustomerMappingResource,
    StrictIntegerWidget,
)

log = logging.getLogger(__name__)

FORMATS = (base_formats.CSV, base_formats.XLSX)
INVALID_ROWS_KEPT = 200  # invalid rows listed on a background check; the count covers them all


# File-level problems (not UTF-8, unknown or missing columns, a key twice, too many rows) refuse the whole
# file with one clear message; row-level problems are django-import-export's invalid rows.
class FileProblem(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


def format_by_title(title: str):
    for fmt in FORMATS:
        if fmt().get_title() == title:
            return fmt
    raise FileProblem(f"Unsupported format {title!r}: use CSV or XLSX.")


def read_dataset(data: bytes, fmt) -> tablib.Dataset:
    """Parse the uploaded bytes; an Excel byte-order mark is dropped, any other encoding is refused."""
    instance = fmt()
    if instance.is_binary():
        try:
            dataset = instance.create_dataset(data)
        except Exception as exc:  # openpyxl raises several unrelated types for a bad workbook
            raise FileProblem(
                f"The file could not be read as an Excel workbook ({type(exc).__name__}). "
                "Save it as .xlsx, or choose the CSV format for a .csv file."
            ) from None
    else:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise FileProblem(
                "The file is UTF-16 text. Save it as \"CSV UTF-8 (Comma delimited)\" and upload it again."
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"The file is not UTF-8 text: byte 0x{data[exc.start]:02x} at position {exc.start} cannot be "
                "read. In Excel use \"Save As → CSV UTF-8 (Comma delimited)\" and upload it again; "
                "for an .xlsx file choose the XLSX format."
            ) from None
        try:
            dataset = tablib.Dataset().load(text, format="csv")
        except Exception as exc:  # tablib/csv errors: malformed quoting, NUL bytes
            raise FileProblem(f"The file could not be read as CSV: {exc}") from None
    if dataset.headers:
        dataset.headers = [str(h or "").strip() for h in dataset.headers]
    return dataset


def _key(row: dict) -> tuple:
    widget = StrictIntegerWidget()
    parts = [str(row.get("entity_type") or "").strip().lower()]
    for column in KEY_COLUMNS[1:]:
        try:
            parts.append(widget.clean(row.get(column)))
        except ValueError:
            parts.append(str(row.get(column)).strip())
    return tuple(parts)


def _describe_key(key: tuple) -> str:
    entity, portfolio, building = key
    if entity == "building":
        return f"building {building} of portfolio {portfolio}"
    return f"{entity or 'row'} for portfolio {portfolio}"


def check_dataset(dataset: tablib.Dataset, *, max_rows: int | None = None) -> None:
    """Refuse a file whose columns or keys make its rows meaningless; FileProblem says which."""
    max_rows = settings.MAPPING_IMPORT_MAX_ROWS if max_rows is None else max_rows
    headers = list(dataset.headers or [])
    if not headers:
        raise FileProblem("The file is empty: it needs a header row and at least one data row.")
    known = set(IMPORT_COLUMNS) | set(INFO_COLUMNS)
    # A blank header over an empty column is what spreadsheets leave behind; it carries nothing.
    unknown = [h for i, h in enumerate(headers) if h not in known
               and not (h == "" and all(str(v or "").strip() == "" for v in dataset.get_col(i)))]
    if unknown:
        shown = ", ".join(repr(h) for h in unknown)
        raise FileProblem(
            f"Unknown column(s): {shown}. The columns are: {', '.join(IMPORT_COLUMNS)} (and, ignored on "
            f"import, {', '.join(INFO_COLUMNS)}). Nothing was imported."
        )
    repeated = sorted({h for h in headers if h and headers.count(h) > 1})
    if repeated:
        raise FileProblem(f"Column(s) appear twice: {', '.join(repeated)}. Nothing was imported.")
    missing = [c for c in (*KEY_COLUMNS, "sf_customer_id") if c not in headers]
    if missing:
        raise FileProblem(f"Missing column(s): {', '.join(missing)}. Nothing was imported.")
    if len(dataset) == 0:
        raise FileProblem("The file has a header row but no data rows.")
    if len(dataset) > max_rows:
        raise FileProblem(
            f"The file has {len(dataset):,} rows; at most {max_rows:,} can be imported at once. "
            "Split it into smaller files. Nothing was imported."
        )
    seen: dict[tuple, list[int]] = defaultdict(list)
    for number, row in enumerate(dataset.dict, start=2):  # line 1 is the header
        seen[_key(row)].append(number)
    duplicates = [(key, lines) for key, lines in seen.items() if len(lines) > 1]
    if duplicates:
        shown = "; ".join(f"{_describe_key(key)} on lines {', '.join(map(str, lines))}"
                          for key, lines in duplicates[:5])
        more = f" (and {len(duplicates) - 5} more)" if len(duplicates) > 5 else ""
        raise FileProblem(
            f"The same mapping appears more than once: {shown}{more}. Keep one row per portfolio or "
            "building. Nothing was imported."
        )


def summarise(result) -> dict:
    """Counts and the invalid rows of an import result, as JSON."""
    totals = result.totals
    invalid = [
        {"line": row.number + 1,
         "errors": {field: [str(m) for m in messages] for field, messages in row.error_dict.items()},
         "values": dict(zip(result.diff_headers, ("" if v is None else str(v) for v in row.values),
                            strict=False))}
        for row in result.invalid_rows[:INVALID_ROWS_KEPT]
    ]
    errors = [str(e.error) for e in result.base_errors] + [
        f"line {(err.number or number) + 1}: {err.error}"
        for number, errs in result.row_errors() for err in errs
    ]
    return {
        "new": totals[RowResult.IMPORT_TYPE_NEW],
        "changed": totals[RowResult.IMPORT_TYPE_UPDATE],
        "unchanged": totals[RowResult.IMPORT_TYPE_SKIP],
        "invalid": totals[RowResult.IMPORT_TYPE_INVALID],
        "errors": errors[:INVALID_ROWS_KEPT],
        "invalid_rows": invalid,
    }


def log_import(result, user_id: int | None, file_name: str) -> None:
    """One admin-log entry per created or changed mapping, as the admin's own import writes."""
    if user_id is None:
        return
    for import_type, flag in ((RowResult.IMPORT_TYPE_NEW, ADDITION), (RowResult.IMPORT_TYPE_UPDATE, CHANGE)):
        instances = [r.instance for r in result.rows if r.import_type == import_type and r.instance]
        if instances:
            LogEntry.objects.log_actions(  # type: ignore[call-overload]  # stubs take Literal, not bool
                user_id, instances, flag, change_message=f"{import_type} through import of {file_name}",
                single_object=len(instances) == 1,
            )


def _load(job):
    fmt = format_by_title(job.file_format)
    return read_dataset(bytes(job.content), fmt)


def check_mapping_import(import_id: int) -> str:
    """django-q2 task: dry-run a stored file and record what importing it would do."""
    job = MappingImport.objects.get(pk=import_id)
    try:
        dataset = _load(job)
        check_dataset(dataset)
        result = CustomerMappingResource().import_data(
            dataset, dry_run=True, raise_errors=False, file_name=job.file_name, user=job.created_by
        )
    except FileProblem as exc:
        job.state, job.error = MappingImport.State.FAILED, str(exc)
    else:
        job.preview = summarise(result)
        bad = result.has_errors() or result.has_validation_errors()
        job.state = MappingImport.State.INVALID if bad else MappingImport.State.READY
    job.finished_at = timezone.now() if job.state != MappingImport.State.READY else None
    job.save(update_fields=["state", "error", "preview", "finished_at"])
    return job.get_state_display()


def run_mapping_import(import_id: int) -> str:
    """django-q2 task: import a confirmed file in one transaction (all rows or none)."""
    claimed = MappingImport.objects.filter(pk=import_id, state=MappingImport.State.IMPORTING)
    job = claimed.first()
    if job is None:
        return "not waiting to be imported"
    try:
        dataset = _load(job)
        check_dataset(dataset)
        with transaction.atomic():
            result = CustomerMappingResource().import_data(
                dataset, dry_run=False, raise_errors=False, use_transactions=True,
                rollback_on_validation_errors=True, retain_instance_in_row_result=True,
                file_name=job.file_name, user=job.confirmed_by or job.created_by,
            )
            summary = summarise(result)
            if result.has_errors() or result.has_validation_errors():
                raise FileProblem(
                    f"{summary['invalid']} row(s) became invalid since the check; nothing was imported."
                )
            log_import(result, (job.confirmed_by_id or job.created_by_id), job.file_name)
    except FileProblem as exc:
        job.state, job.error = MappingImport.State.FAILED, str(exc)
    except Exception as exc:
        log.exception("mapping import %s failed", import_id)
        job.state, job.error = MappingImport.State.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        job.state, job.result = MappingImport.State.DONE, summary
        job.content = b""  # the mappings are in the table now; don't keep a second copy
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "result", "content", "finished_at"])
    return job.get_state_display()
