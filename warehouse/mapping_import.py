"""Reading and checking customer-mapping files before django-import-export sees them, and the
background tasks that check and import large files.
"""
from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections import defaultdict
from collections.abc import Iterator

import openpyxl  # type: ignore[import-untyped]  # types-openpyxl is not a dependency
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
XLSX_EXPANSION = 10  # a mapping sheet's XML is a few times its zip; far more is a zip bomb


# File-level problems (not UTF-8, unknown or missing columns, a key twice, too many rows) refuse the whole
# file with one clear message; row-level problems are django-import-export's invalid rows.
class FileProblem(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


def format_by_title(title: str):
    for fmt in FORMATS:
        if fmt().get_title() == title:
            return fmt
    raise FileProblem(f"Unsupported format {title!r}: use CSV or XLSX.")


def check_size(size: int) -> None:
    """Refuse an upload over MAPPING_IMPORT_MAX_BYTES before a byte of it is parsed."""
    limit = settings.MAPPING_IMPORT_MAX_BYTES
    if size > limit:
        raise FileProblem(
            f"The file is {size:,} bytes; at most {limit:,} bytes (MAPPING_IMPORT_MAX_BYTES) can be imported "
            "at once. Split it into smaller files. Nothing was imported."
        )


def _csv_rows(data: bytes) -> Iterator[list]:
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
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from reader
    except csv.Error as exc:  # malformed quoting, NUL bytes, a field over the csv module's size limit
        raise FileProblem(f"The file could not be read as CSV (line {reader.line_num}): {exc}") from None


def _check_unpacked_size(book: zipfile.ZipFile) -> None:
    # An XLSX is a zip: a small upload can expand to gigabytes of XML (a zip bomb). The members' declared
    # sizes are checked first, then the bytes they actually inflate to, stopping at the limit, since a
    # crafted archive can lie in its headers.
    limit = settings.MAPPING_IMPORT_MAX_BYTES * XLSX_EXPANSION
    refuse = FileProblem(
        f"The workbook unpacks to more than {limit:,} bytes ({XLSX_EXPANSION} × MAPPING_IMPORT_MAX_BYTES); "
        "it is not a plain mapping sheet. Save the rows as CSV, or split the file. Nothing was imported."
    )
    members = book.infolist()
    if sum(m.file_size for m in members) > limit:
        raise refuse
    total = 0
    for member in members:
        with book.open(member) as stream:
            while chunk := stream.read(1 << 16):
                total += len(chunk)
                if total > limit:
                    raise refuse


def _xlsx_rows(data: bytes) -> Iterator[list]:
    problem = ("The file could not be read as an Excel workbook ({}). Save it as .xlsx, or choose the CSV "
               "format for a .csv file.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_unpacked_size(archive)
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except FileProblem:
        raise
    except Exception as exc:  # zipfile, zlib and openpyxl raise several unrelated types for a bad workbook
        raise FileProblem(problem.format(type(exc).__name__)) from None
    try:
        sheet = book.active or book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):  # read-only mode parses the sheet as it goes
            yield list(row)
    except Exception as exc:
        raise FileProblem(problem.format(type(exc).__name__)) from None
    finally:
        book.close()


def _blank(value) -> bool:
    return value is None or str(value).strip() == ""


def read_dataset(data: bytes, fmt, *, max_rows: int | None = None) -> tablib.Dataset:
    """Parse the uploaded bytes row by row, refusing the file as soon as it breaks a limit or its header
    is wrong; an Excel byte-order mark is dropped, any other encoding is refused."""
    check_size(len(data))
    max_rows = settings.MAPPING_IMPORT_MAX_ROWS if max_rows is None else max_rows
    rows = _xlsx_rows(data) if fmt().is_binary() else _csv_rows(data)
    try:
        header = next(rows, None)
        if header is None or all(_blank(h) for h in header):
            raise FileProblem("The file is empty: it needs a header row and at least one data row.")
        headers = [str(h or "").strip() for h in header]
        check_headers(headers)
        dataset = tablib.Dataset(headers=headers)
        width = len(headers)
        for line, row in enumerate(rows, start=2):
            if all(_blank(v) for v in row):
                continue  # blank lines and the empty rows spreadsheets keep at the end
            if any(not _blank(v) for v in row[width:]) or any(
                    not _blank(v) for h, v in zip(headers, row, strict=False) if h == ""):
                raise FileProblem(f"Line {line} has a value in a column without a header. Nothing was "
                                  "imported.")
            if len(dataset) == max_rows:
                raise FileProblem(
                    f"The file has more than {max_rows:,} rows; at most {max_rows:,} can be imported at "
                    "once. Split it into smaller files. Nothing was imported."
                )
            dataset.append([*row[:width], *[""] * (width - len(row))])
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # stops the reader and closes the workbook
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


def check_headers(headers: list[str]) -> None:
    """Refuse unknown, repeated or missing columns; a blank header is checked with its rows."""
    known = set(IMPORT_COLUMNS) | set(INFO_COLUMNS)
    unknown = [h for h in headers if h and h not in known]
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


def check_dataset(dataset: tablib.Dataset) -> None:
    """Refuse a file whose rows make no sense together (none, or one mapping twice); FileProblem says
    which. The header and the row limit were checked while the file was read."""
    if len(dataset) == 0:
        raise FileProblem("The file has a header row but no data rows.")
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


def log_import(result, user_id: int | None, file_name: str, reason: str = "") -> None:
    """One admin-log entry per created or changed mapping, as the admin's own import writes."""
    if user_id is None:
        return
    why = f": {reason}" if reason else ""
    for import_type, flag in ((RowResult.IMPORT_TYPE_NEW, ADDITION), (RowResult.IMPORT_TYPE_UPDATE, CHANGE)):
        instances = [r.instance for r in result.rows if r.import_type == import_type and r.instance]
        if instances:
            LogEntry.objects.log_actions(  # type: ignore[call-overload]  # stubs take Literal, not bool
                user_id, instances, flag, change_message=f"{import_type} through import of {file_name}{why}",
                single_object=len(instances) == 1,
            )


def _load(job) -> tablib.Dataset:
    dataset = read_dataset(bytes(job.content), format_by_title(job.file_format))
    check_dataset(dataset)
    return dataset


def check_mapping_import(import_id: int) -> str:
    """django-q2 task: dry-run a stored file and record what importing it would do."""
    job = MappingImport.objects.get(pk=import_id)
    try:
        dataset = _load(job)
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


class RowsFailed(FileProblem):
    """Rows that passed the check fail on import: the transaction is rolled back and they are listed."""

    def __init__(self, summary: dict):
        self.summary = summary
        failed = summary["invalid"] + len(summary["errors"])
        super().__init__(f"{failed} row(s) failed when the import was confirmed, so nothing was imported. "
                         "Correct them in the file and upload it again.")


def import_job(job: MappingImport) -> MappingImport:
    """Import a confirmed file, re-reading and re-checking all of it, in one transaction: every row or
    none. The job ends DONE, INVALID (with the failing rows in its preview) or FAILED."""
    reason = str((job.result or {}).get("reason") or "")
    try:
        dataset = _load(job)  # the file checks again: the stored file is what gets imported
        with transaction.atomic():
            result = CustomerMappingResource().import_data(
                dataset, dry_run=False, raise_errors=False, use_transactions=True,
                rollback_on_validation_errors=True, retain_instance_in_row_result=True,
                file_name=job.file_name, user=job.confirmed_by or job.created_by, reason=reason,
            )
            summary = summarise(result)
            if result.has_errors() or result.has_validation_errors():
                raise RowsFailed(summary)
            log_import(result, (job.confirmed_by_id or job.created_by_id), job.file_name, reason)
    except RowsFailed as exc:
        job.state, job.error, job.preview = MappingImport.State.INVALID, str(exc), exc.summary
    except FileProblem as exc:
        job.state, job.error = MappingImport.State.FAILED, str(exc)
    except Exception as exc:
        log.exception("mapping import %s failed", job.pk)
        job.state, job.error = MappingImport.State.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        job.state, job.result = MappingImport.State.DONE, {**summary, "reason": reason}
        job.content = b""  # the mappings are in the table now; don't keep a second copy
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "preview", "result", "content", "finished_at"])
    return job


def run_mapping_import(import_id: int) -> str:
    """django-q2 task: import a confirmed file (see import_job)."""
    job = MappingImport.objects.filter(pk=import_id, state=MappingImport.State.IMPORTING).first()
    if job is None:
        return "not waiting to be imported"
    return import_job(job).get_state_display()
