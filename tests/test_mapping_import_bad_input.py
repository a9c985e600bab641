"""Customer-mapping imports refuse bad input: broken files, limits reached while reading, bad ids, a
tampered confirm, and rows that fail between preview and confirm. Each gets a clear error and the
mapping table (and its history) is left as it was."""
from __future__ import annotations

import io
import struct
import time
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from sync.admin.groups import MAPPING_EDITORS
from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, csv_bytes, page_messages, staff_user
from warehouse.models import CustomerMapping, MappingImport, SfCustomerCache

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:warehouse_customermapping_import")
PROCESS = reverse("admin:warehouse_customermapping_process_import")
HEADER = ["entity_type", "pw_portfolio_id", "pw_building_id", "sf_customer_id", "status"]
CSV, XLSX = "0", "1"


def snapshot():
    """The mapping table and its history: what "nothing changed" means."""
    rows = sorted(CustomerMapping.objects.values_list(
        "entity_type", "pw_portfolio_id", "pw_building_id", "sf_customer_id", "status", "method",
        "confidence"))
    return rows, CustomerMapping.history.count()


def upload(client, data, fmt=CSV):
    return client.post(IMPORT, {"format": fmt, "import_file": data, "resource": "0"})


def named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def xlsx(rows: list[list]) -> io.BytesIO:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return named(buffer.getvalue(), "mappings.xlsx")


def zip_bomb(unpacked: int, *, understate: bool = False) -> io.BytesIO:
    """A valid workbook whose sheet inflates to `unpacked` bytes of XML from a few kilobytes of zip;
    with `understate`, the zip's headers claim the sheet is 100 bytes."""
    base = xlsx([HEADER, ["building", 10, 102, 5002, ""]]).getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * unpacked)
            dst.writestr(info.filename, data)
    data = bytearray(out.getvalue())
    if understate:
        for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local and central headers
            start = 0
            while (start := data.find(signature, start)) != -1:
                name_at = start + (30 if signature == b"PK\x03\x04" else 46)
                if data[name_at:name_at + 24] == b"xl/worksheets/sheet1.xml":
                    data[start + offset:start + offset + 4] = struct.pack("<I", 100)
                start += 4
    assert len(data) < 100_000
    return named(bytes(data), "bomb.xlsx")


# --- the file as a whole ----------------------------------------------------------------------------

FILE_PROBLEMS = [
    (CSV, lambda: named(b"", "empty.csv"), "The submitted file is empty"),  # Django's own check
    (CSV, lambda: named(b"\r\n\r\n", "blank.csv"), "The file is empty"),
    (CSV, lambda: csv_bytes([HEADER]), "no data rows"),
    (CSV, lambda: csv_bytes([["entity", "portfolio", "building", "customer"], ["building", 10, 102, 5002]]),
     "Unknown column(s): &#x27;entity&#x27;"),
    (CSV, lambda: csv_bytes([["entity_type", "pw_portfolio_id", "sf_customer_id"], ["portfolio", 10, 5000]]),
     "Missing column(s): pw_building_id"),
    (CSV, lambda: csv_bytes([[*HEADER, "status"], ["building", 10, 102, 5002, "", ""]]),
     "Column(s) appear twice: status"),
    (CSV, lambda: csv_bytes([HEADER, ["building", 10, 102, 5002, "", "stray"]]),
     "Line 2 has a value in a column without a header"),
    (CSV, lambda: csv_bytes([HEADER, ["building", 10, 102, 5002, ""], ["building", 10, 102, 5001, ""]],
                            bom=True),
     "The same mapping appears more than once: building 102 of portfolio 10 on lines 2, 3"),
    (CSV, lambda: csv_bytes([HEADER, ["building", 10, 102, 5002, ""]], encoding="utf-16"),
     "The file is UTF-16 text"),
    (CSV, lambda: named(b"entity_type,pw_portfolio_id,pw_building_id,sf_customer_id\r\nbuilding,10,"
                        + b"1" * 200_000 + b",1\r\n", "huge-cell.csv"),
     "could not be read as CSV (line 2): field larger than field limit"),
    (XLSX, lambda: csv_bytes([HEADER, ["building", 10, 102, 5002, ""]]), "could not be read as an Excel"),
    (XLSX, lambda: xlsx([]), "The file is empty"),
    (XLSX, lambda: xlsx([["colour", "pw_portfolio_id"], ["red", 10]]), "Unknown column(s): &#x27;colour"),
    (XLSX, lambda: xlsx([HEADER, ["building", 10, 102, 5002, None],
                         ["Building", 10.0, 102, 5001, None]]), "appears more than once"),
]


@pytest.mark.parametrize("fmt, payload, message", FILE_PROBLEMS, ids=[
    "empty", "blank-lines", "header-only", "wrong-headers", "missing-column", "repeated-column",
    "value-without-header", "duplicate-rows-with-bom", "utf16", "huge-cell", "csv-as-xlsx", "xlsx-empty",
    "xlsx-wrong-headers", "xlsx-duplicate-rows"])
def test_a_bad_file_is_refused_clearly_and_nothing_changes(client, mapping_editor, warehouse_data, fmt,
                                                           payload, message):
    c = client_for(client, mapping_editor)
    before = snapshot()
    page = upload(c, payload(), fmt)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert page.context.get("result") is None and page.context.get("confirm_form") is None
    assert snapshot() == before and not MappingImport.objects.exists()


def test_a_bom_is_dropped_and_the_first_header_still_matches(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    page = upload(c, csv_bytes([HEADER, ["building", 10, 102, 5002, ""]], bom=True))
    assert page.context["result"].totals["update"] == 1 and page.context["confirm_form"] is not None


# --- limits, enforced while reading ---------------------------------------------------------------------

def test_a_file_over_the_byte_limit_is_refused_naming_the_setting(client, mapping_editor, warehouse_data,
                                                                  settings):
    settings.MAPPING_IMPORT_MAX_BYTES = 2000
    c = client_for(client, mapping_editor)
    before = snapshot()
    rows = [HEADER] + [["building", 10, 102 + i, "", ""] for i in range(200)]
    page = upload(c, csv_bytes(rows))
    body = page.content.decode()
    assert "at most 2,000 bytes (MAPPING_IMPORT_MAX_BYTES) can be imported" in body
    assert snapshot() == before and not MappingImport.objects.exists()


@pytest.mark.parametrize("understate", [False, True], ids=["declared", "understated-headers"])
def test_a_zip_bomb_xlsx_is_refused_quickly(client, mapping_editor, warehouse_data, settings, understate):
    settings.MAPPING_IMPORT_MAX_BYTES = 200_000  # the sheet may unpack to 2 MB
    c = client_for(client, mapping_editor)
    before = snapshot()
    started = time.process_time()
    page = upload(c, zip_bomb(30_000_000, understate=understate), XLSX)
    assert time.process_time() - started < 5
    body = page.content.decode()
    if understate:  # the inflater stops at the claimed size and the checksum gives the lie away
        assert "could not be read as an Excel workbook (BadZipFile)" in body
    else:
        assert "The workbook unpacks to more than 2,000,000 bytes (10 × MAPPING_IMPORT_MAX_BYTES)" in body
    assert snapshot() == before and not MappingImport.objects.exists()


@pytest.mark.parametrize("fmt", [CSV, XLSX])
def test_reading_stops_at_max_rows_plus_one(client, mapping_editor, warehouse_data, settings, fmt):
    settings.MAPPING_IMPORT_MAX_ROWS = 5
    c = client_for(client, mapping_editor)
    before = snapshot()
    rows = [HEADER] + [["building", 10, 1000 + i, "", ""] for i in range(6)]
    if fmt == CSV:  # a broken line after row 6 is never reached
        payload = named(csv_bytes(rows).getvalue() + b'building,10,"unclosed\0\r\n', "many.csv")
    else:
        payload = xlsx(rows)
    page = upload(c, payload, fmt)
    assert "The file has more than 5 rows; at most 5 can be imported at once" in page.content.decode()
    assert snapshot() == before and not MappingImport.objects.exists()


# --- ids ------------------------------------------------------------------------------------------

BAD_IDS = [
    ("inf", "expected a whole number, got &#x27;inf&#x27;"),
    ("nan", "expected a whole number, got &#x27;nan&#x27;"),
    ("1e3", "expected a whole number, got &#x27;1e3&#x27;"),
    ("12.5", "expected a whole number, got &#x27;12.5&#x27;"),
    ("abc", "expected a whole number, got &#x27;abc&#x27;"),
    ("-1", "must be an id from 1 to 9223372036854775807, got -1"),
    ("0", "must be an id from 1 to 9223372036854775807, got 0"),
    ("9223372036854775808", "must be an id from 1 to 9223372036854775807, got 9223372036854775808"),
    ("99999999999999999999999", "must be an id from 1 to 9223372036854775807"),
]


@pytest.mark.parametrize("column", [1, 2, 3], ids=["portfolio", "building", "sf-customer"])
@pytest.mark.parametrize("value, message", BAD_IDS, ids=[v for v, _ in BAD_IDS])
def test_a_bad_id_is_a_row_error(client, mapping_editor, warehouse_data, column, value, message):
    c = client_for(client, mapping_editor)
    before = snapshot()
    row = ["building", 10, 102, 5002, ""]
    row[column] = value
    page = upload(c, csv_bytes([HEADER, row, ["building", 20, 201, "", "create"]]))
    assert page.status_code == 200
    assert page.context["result"].totals["invalid"] == 1
    body = page.content.decode()
    assert message in body and "Confirm import" not in body
    assert snapshot() == before and not MappingImport.objects.exists()


@pytest.mark.parametrize("value, message", [
    (12.5, "expected a whole number, got &#x27;12.5&#x27;"), (-1, "got -1"), (True, "got True"),
    (1e20, "expected a whole number, got &#x27;1e+20&#x27;"), ("inf", "got &#x27;inf&#x27;"),
])
def test_a_bad_id_in_an_xlsx_cell_is_a_row_error(client, mapping_editor, warehouse_data, value, message):
    c = client_for(client, mapping_editor)
    before = snapshot()
    page = upload(c, xlsx([HEADER, ["building", 10, 102, value, None]]), XLSX)
    assert page.context["result"].totals["invalid"] == 1 and message in page.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("value", ["-1", "9223372036854775808", "inf"])
def test_the_edit_form_refuses_an_id_out_of_range(client, mapping_editor, warehouse_data, value):
    c = client_for(client, mapping_editor)
    before = snapshot()
    mapping = CustomerMapping.objects.get(pw_building_id=102)
    page = c.post(reverse("admin:warehouse_customermapping_change", args=[mapping.pk]),
                  {"sf_customer_id": value, "status": "mapped", "reason": "typo test"})
    assert page.status_code == 200 and page.context["adminform"].form.errors["sf_customer_id"]
    assert snapshot() == before


# --- confirm ----------------------------------------------------------------------------------------

def preview(c, rows=None):
    page = upload(c, csv_bytes(rows or [HEADER, ["building", 10, 102, 5002, ""],
                                        ["building", 20, 201, "", "create"]]))
    assert page.status_code == 200 and page.context["confirm_form"] is not None
    return {**page.context["confirm_form"].initial, "reason": "sheet from the owner", "confirm": "1"}


def test_a_vanished_sf_customer_fails_the_confirm_and_nothing_is_saved(client, mapping_editor,
                                                                       warehouse_data):
    c = client_for(client, mapping_editor)
    before = snapshot()
    confirm = preview(c)
    SfCustomerCache.objects.filter(sf_customer_id=5002).delete()  # the next sync no longer sees it
    done = c.post(PROCESS, confirm, follow=True)
    assert done.status_code == 200
    shown = " ".join(page_messages(done))
    assert "1 row(s) failed when the import was confirmed, so nothing was imported" in shown
    assert "line 2, sf_customer_id: SF customer 5002 is unknown" in shown
    assert "SF customer 5002 is unknown" in done.content.decode()  # the import's page lists the row too
    assert snapshot() == before  # the valid row 201 was not saved either
    job = MappingImport.objects.get()
    assert job.state == MappingImport.State.INVALID and job.preview["invalid_rows"][0]["line"] == 2
    assert c.post(PROCESS, confirm).status_code == 400  # and it cannot be confirmed again


def test_the_confirm_checks_the_stored_file_again(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    before = snapshot()
    confirm = preview(c)
    duplicated = csv_bytes([HEADER, ["building", 10, 102, 5002, ""], ["building", 10, 102, 5001, ""]])
    MappingImport.objects.update(content=duplicated.getvalue())
    done = c.post(PROCESS, confirm, follow=True)
    assert any("appears more than once" in m for m in page_messages(done))
    assert MappingImport.objects.get().state == MappingImport.State.FAILED
    assert snapshot() == before


@pytest.mark.parametrize("tamper, message", [
    (lambda form, job, other: {**form, "import_id": "999999"}, "There is no mapping import 999999"),
    (lambda form, job, other: {**form, "import_id": "abc"}, "There is no mapping import None"),
    (lambda form, job, other: {k: v for k, v in form.items() if k != "import_id"}, "no mapping import"),
    (lambda form, job, other: {**form, "import_id": str(other.pk)}, "uploaded by someone else"),
    (lambda form, job, other: {**form, "original_file_name": "other.csv"}, "does not match"),
    (lambda form, job, other: {**form, "format": "1"}, "does not match"),
    (lambda form, job, other: {**form, "format": "../../etc/passwd"}, "does not match"),
    (lambda form, job, other: form if MappingImport.objects.filter(pk=job.pk).update(
        state=MappingImport.State.DONE) else None, "cannot be imported now: it is Imported"),
], ids=["unknown-id", "text-id", "missing-id", "another-users-import", "altered-file-name",
        "altered-format", "junk-format", "wrong-state"])
def test_a_tampered_confirm_gets_a_400_and_changes_nothing(client, mapping_editor, warehouse_data,
                                                           django_user_model, tamper, message):
    someone = staff_user(django_user_model, "sam", MAPPING_EDITORS)
    c = client_for(client, someone)
    preview(c, [HEADER, ["building", 20, 201, "", "create"]])
    other = MappingImport.objects.get(created_by=someone)
    client.logout()
    c = client_for(client, mapping_editor)
    form = preview(c)
    job = MappingImport.objects.get(created_by=mapping_editor)
    posted = tamper(form, job, other)
    before, states = snapshot(), dict(MappingImport.objects.values_list("pk", "state"))
    response = c.post(PROCESS, posted)
    assert response.status_code == 400
    assert message in response.content.decode() and "Nothing was changed" in response.content.decode()
    assert snapshot() == before
    assert dict(MappingImport.objects.values_list("pk", "state")) == states


def test_a_confirm_without_a_reason_saves_nothing(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    before = snapshot()
    form = preview(c)
    done = c.post(PROCESS, {**form, "reason": "   "}, follow=True)
    assert any("A reason is required" in m for m in page_messages(done))
    assert snapshot() == before
    assert MappingImport.objects.get().state == MappingImport.State.READY  # still confirmable, with one
    done = c.post(PROCESS, {**form, "reason": "owner's sheet"}, follow=True)
    assert any("Import finished: 1 new, 1 changed" in m for m in page_messages(done))
    history = CustomerMapping.objects.get(pw_building_id=102).history.first()
    assert history.history_user == mapping_editor
    assert history.history_change_reason == "owner's sheet (import of mappings.csv)"
    assert MappingImport.objects.get().result["reason"] == "owner's sheet"


def test_a_second_confirm_of_the_same_import_is_refused(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    form = preview(c)
    assert c.post(PROCESS, form).status_code == 302
    after = snapshot()
    again = c.post(PROCESS, form)
    assert again.status_code == 400 and "it is Imported" in again.content.decode()
    assert snapshot() == after
