"""Customer mappings screen: list/search/filter, CSV and XLSX import (preview, confirm, bad files),
export (BOM, formula escaping), background imports, unmapped buildings, and who may do what."""
from __future__ import annotations

import io

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from tests.admin_fixtures import *  # noqa: F403
from tests.admin_support import client_for, csv_bytes, page_messages, queued_tasks, run_queued_tasks
from warehouse.models import CustomerMapping, MappingImport

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:warehouse_customermapping_changelist")
IMPORT = reverse("admin:warehouse_customermapping_import")
PROCESS = reverse("admin:warehouse_customermapping_process_import")
EXPORT = reverse("admin:warehouse_customermapping_export")
UNMAPPED = reverse("admin:warehouse_customermapping_unmapped")
HEADER = ["entity_type", "pw_portfolio_id", "pw_building_id", "sf_customer_id", "status"]
CSV, XLSX = "0", "1"  # positions of the formats in the import form


def snapshot():
    return sorted(CustomerMapping.objects.values_list(
        "entity_type", "pw_portfolio_id", "pw_building_id", "sf_customer_id", "status", "method"))


def upload(client, data, fmt=CSV):
    return client.post(IMPORT, {"format": fmt, "import_file": data, "resource": "0"})


# --- list ------------------------------------------------------------------------------------------

def test_changelist_lists_searches_and_filters(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    page = c.get(CHANGELIST)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Oak Court" in body and "12 Oak St" in body  # building and SF customer names joined in
    assert c.get(CHANGELIST, {"q": "Elm"}).context["cl"].result_count == 1
    assert c.get(CHANGELIST, {"q": "5001"}).context["cl"].result_count == 1
    assert c.get(CHANGELIST, {"status__exact": "review"}).context["cl"].result_count == 1
    assert c.get(CHANGELIST, {"has_sf_customer": "no"}).context["cl"].result_count == 1
    assert "Unmapped buildings" in body and 'class="import_link"' in body


def test_viewer_sees_mappings_but_cannot_import_export_or_edit(client, viewer, warehouse_data):
    c = client_for(client, viewer)
    page = c.get(CHANGELIST)
    assert page.status_code == 200
    assert 'class="import_link"' not in page.content.decode()
    assert c.get(IMPORT).status_code == 403
    assert c.post(EXPORT, {"format": CSV, "resource": "0"}).status_code == 403
    mapping = CustomerMapping.objects.get(pw_building_id=102)
    before = snapshot()
    response = c.post(reverse("admin:warehouse_customermapping_change", args=[mapping.pk]),
                      {"sf_customer_id": "5002", "status": "mapped"})
    assert response.status_code == 403
    assert snapshot() == before


def test_operator_cannot_import_mappings(client, operator, warehouse_data):
    c = client_for(client, operator)
    before = snapshot()
    assert upload(c, csv_bytes([HEADER, ["building", 10, 102, 5002, ""]])).status_code == 403
    assert snapshot() == before


# --- import: preview then confirm ---------------------------------------------------------------------

def test_import_preview_shows_new_changed_unchanged_and_saves_nothing_until_confirmed(
        client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    before = snapshot()
    data = csv_bytes([HEADER,
                      ["building", 10, 101, 5001, ""],       # unchanged
                      ["building", 10, 102, 5002, ""],       # changed: review -> mapped
                      ["building", 20, 201, "", "create"],   # new: let the sync create it
                      ["portfolio", 20, "", "", ""]],        # new: unmapped portfolio
                     bom=True)
    page = upload(c, data)
    assert page.status_code == 200
    result = page.context["result"]
    assert (result.totals["new"], result.totals["update"], result.totals["skip"],
            result.totals["invalid"]) == (2, 1, 1, 0)
    body = page.content.decode()
    assert "Confirm import" in body and 'id="gl-import-summary"' in body and "Unchanged" in body
    assert snapshot() == before  # the preview rolled back

    confirm = page.context["confirm_form"]
    done = c.post(PROCESS, {**confirm.initial, "reason": "Q3 review", "confirm": "Confirm import"},
                  follow=True)
    assert done.status_code == 200
    assert any("2 new, 1 changed, 1 unchanged" in m for m in page_messages(done))
    changed = CustomerMapping.objects.get(entity_type="building", pw_building_id=102)
    assert (changed.sf_customer_id, changed.status, changed.method) == (5002, "mapped", "import")
    assert CustomerMapping.objects.get(pw_building_id=201).status == "create"
    assert CustomerMapping.objects.get(entity_type="portfolio", pw_portfolio_id=20).status == "unmapped"
    untouched = CustomerMapping.objects.get(pw_building_id=101)
    assert untouched.method == "custom_field"  # unchanged rows are not rewritten
    last = changed.history.first()
    assert last.history_user == mapping_editor
    assert last.history_change_reason == "Q3 review (import of mappings.csv)"
    assert LogEntry.objects.filter(user=mapping_editor, object_id=str(changed.pk)).exists()


def test_import_with_one_bad_row_shows_field_errors_and_cannot_be_confirmed(client, mapping_editor,
                                                                             warehouse_data):
    c = client_for(client, mapping_editor)
    before = snapshot()
    page = upload(c, csv_bytes([HEADER,
                                ["building", 10, 102, 5002, ""],
                                ["building", 10, 999, 12.5, ""],        # unknown building, bad id
                                ["building", 20, 201, 5001, "unmapped"]]))  # contradicting status
    assert page.status_code == 200
    result = page.context["result"]
    assert result.totals["invalid"] == 2 and result.totals["update"] == 1
    body = page.content.decode()
    assert "building 999 is not in the warehouse" in body
    assert "expected a whole number, got &#x27;12.5&#x27;" in body
    assert "contradicts the SF customer id" in body
    assert "Nothing has been saved" in body and "Confirm import" not in body
    assert "confirm_form" not in page.context or page.context["confirm_form"] is None
    assert snapshot() == before


def test_unknown_sf_customer_and_wrong_portfolio_are_row_errors(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    page = upload(c, csv_bytes([HEADER, ["building", 20, 101, 777, ""], ["Portfolio", 10, 101, "", ""]]))
    body = page.content.decode()
    assert "building 101 belongs to portfolio 10, not 20" in body
    assert "SF customer 777 is unknown" in body
    assert "must be empty for a portfolio row" in body


def test_xlsx_import_and_info_columns_are_ignored(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*HEADER, "building_name", "method"])
    sheet.append(["building", 10, 102, 5002, None, "Elm House", "whatever"])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "mappings.xlsx"
    page = upload(c, buffer, fmt=XLSX)
    assert page.context["result"].totals["update"] == 1
    c.post(PROCESS, {**page.context["confirm_form"].initial, "reason": "new sheet", "confirm": "1"})
    assert CustomerMapping.objects.get(pw_building_id=102).sf_customer_id == 5002


@pytest.mark.parametrize("payload, message", [
    (csv_bytes([[*HEADER, "colour"], ["building", 10, 102, 5002, "", "red"]]),
     "Unknown column(s): &#x27;colour&#x27;"),
    (csv_bytes([["entity_type", "pw_portfolio_id", "sf_customer_id"], ["portfolio", 10, 5000]]),
     "Missing column(s): pw_building_id"),
    (csv_bytes([HEADER, ["building", 10, 102, 5002, ""], ["building", "10", "102.0", 5001, ""]]),
     "The same mapping appears more than once: building 102 of portfolio 10 on lines 2, 3"),
    (csv_bytes([HEADER, ["building", 10, 102, 5002, "Café"]], encoding="cp1252"),
     "The file is not UTF-8 text: byte 0xe9"),
    (csv_bytes([HEADER, ["building", 10, 102, 5002, ""]], encoding="utf-16"), "The file is UTF-16 text"),
    (csv_bytes([HEADER]), "no data rows"),
], ids=["unknown-column", "missing-column", "duplicate-key", "cp1252", "utf16", "header-only"])
def test_bad_files_are_refused_with_a_clear_message_and_nothing_changes(client, mapping_editor,
                                                                        warehouse_data, payload, message):
    c = client_for(client, mapping_editor)
    before = snapshot()
    page = upload(c, payload)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert page.context.get("result") is None
    assert snapshot() == before


def test_a_file_of_50000_rows_is_refused_and_nothing_changes(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    before = snapshot()
    rows = [HEADER] + [["building", 10, 100000 + i, "", ""] for i in range(50_000)]
    page = upload(c, csv_bytes(rows))
    body = page.content.decode()
    assert "The file has more than 20,000 rows; at most 20,000 can be imported at once" in body
    assert snapshot() == before
    assert not MappingImport.objects.exists() and not queued_tasks()


def test_an_xlsx_chosen_as_csv_is_refused_clearly(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "mappings.xlsx"
    assert "is not UTF-8 text" in upload(c, buffer, fmt=CSV).content.decode()


# --- background import ------------------------------------------------------------------------------

def _large_file(n: int, *, bad_line: int | None = None):
    from warehouse.models import DimBuilding
    from warehouse.scd import merge

    merge(DimBuilding, [{"building_id": 300000 + i, "portfolio_id": 20, "name": f"B{i}",
                         "address": f"{i} Long Rd", "active": True} for i in range(n)])
    rows = [HEADER] + [["building", 20, 300000 + i, "", "create"] for i in range(n)]
    if bad_line is not None:
        rows[bad_line - 1][2] = 999999999
    return csv_bytes(rows)


def test_large_import_runs_in_the_background_and_waits_for_confirmation(
        client, mapping_editor, warehouse_data, settings, django_capture_on_commit_callbacks):
    settings.MAPPING_IMPORT_BACKGROUND_ROWS = 50
    c = client_for(client, mapping_editor)
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(c, _large_file(60))
    job = MappingImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:warehouse_mappingimport_change", args=[job.pk])
    assert job.state == MappingImport.State.CHECKING and job.row_count == 60
    assert [t["func"] for t in queued_tasks()] == ["warehouse.mapping_import.check_mapping_import"]
    run_queued_tasks()
    job.refresh_from_db()
    assert job.state == MappingImport.State.READY and job.preview["new"] == 60
    assert snapshot() == before  # checked, not imported
    page = c.get(reverse("admin:warehouse_mappingimport_change", args=[job.pk]))
    assert "Confirm import of 60 rows" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("admin:warehouse_mappingimport_confirm", args=[job.pk]), {"reason": "yearly sheet"})
    job.refresh_from_db()
    assert job.state == MappingImport.State.IMPORTING and job.confirmed_by == mapping_editor
    run_queued_tasks()
    job.refresh_from_db()
    assert job.state == MappingImport.State.DONE and job.result["new"] == 60
    assert CustomerMapping.objects.filter(pw_portfolio_id=20, status="create").count() == 60
    assert bytes(job.content) == b""
    page = c.get(reverse("admin:warehouse_mappingimport_change", args=[job.pk]))
    assert "Imported" in page.content.decode()


def test_large_import_with_an_invalid_row_imports_nothing(client, mapping_editor, warehouse_data, settings,
                                                          django_capture_on_commit_callbacks):
    settings.MAPPING_IMPORT_BACKGROUND_ROWS = 50
    c = client_for(client, mapping_editor)
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        upload(c, _large_file(60, bad_line=30))
    run_queued_tasks()
    job = MappingImport.objects.get()
    assert job.state == MappingImport.State.INVALID and job.preview["invalid"] == 1
    assert job.preview["invalid_rows"][0]["line"] == 30
    page = c.get(reverse("admin:warehouse_mappingimport_change", args=[job.pk]))
    assert "building 999999999 is not in the warehouse" in page.content.decode()
    assert "Confirm import" not in page.content.decode()
    refused = c.post(reverse("admin:warehouse_mappingimport_confirm", args=[job.pk]), {"reason": "try"})
    assert refused.status_code == 400 and "cannot be imported now" in refused.content.decode()
    assert snapshot() == before


def test_viewer_cannot_confirm_a_background_import(client, mapping_editor, viewer, warehouse_data,
                                                   settings, django_capture_on_commit_callbacks):
    settings.MAPPING_IMPORT_BACKGROUND_ROWS = 50
    with django_capture_on_commit_callbacks(execute=True):
        upload(client_for(client, mapping_editor), _large_file(60))
    run_queued_tasks()
    job = MappingImport.objects.get()
    client.logout()
    c = client_for(client, viewer)
    assert c.get(reverse("admin:warehouse_mappingimport_change", args=[job.pk])).status_code == 200
    assert c.post(reverse("admin:warehouse_mappingimport_confirm", args=[job.pk]),
                  {"reason": "x"}).status_code == 403
    job.refresh_from_db()
    assert job.state == MappingImport.State.READY


# --- export -----------------------------------------------------------------------------------------

def test_csv_export_has_bom_natural_keys_names_and_escaped_formulas(client, mapping_editor, warehouse_data):
    from warehouse.models import CustomerMapping as CM

    CM.objects.create(entity_type="building", pw_portfolio_id=20, pw_building_id=201, sf_customer_id=5003,
                      status="mapped", method="manual", confidence=1.0)
    c = client_for(client, mapping_editor)
    response = c.post(EXPORT, {"format": CSV, "resource": "0"})
    assert response.status_code == 200
    data = response.content
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith(
        "entity_type,pw_portfolio_id,pw_building_id,sf_customer_id,status,portfolio_name")
    assert "portfolio,10,,5000,mapped,Oak Holdings" in text  # empty building id, not "None"
    assert "building,10,101,5001,mapped,Oak Holdings,Oak Court" in text
    assert "=HYPERLINK" not in text.replace("'=HYPERLINK", "")
    assert "'=HYPERLINK" in text


def test_exported_file_imports_back_unchanged(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    exported = c.post(EXPORT, {"format": CSV, "resource": "0"}).content
    buffer = io.BytesIO(exported)
    buffer.name = "export.csv"
    page = upload(c, buffer)
    totals = page.context["result"].totals
    assert (totals["new"], totals["update"], totals["invalid"]) == (0, 0, 0)
    assert totals["skip"] == CustomerMapping.objects.count()


def test_xlsx_export_escapes_formulas(client, mapping_editor, warehouse_data):
    from warehouse.models import CustomerMapping as CM

    CM.objects.create(entity_type="building", pw_portfolio_id=20, pw_building_id=201, sf_customer_id=5003,
                      status="mapped", method="manual", confidence=1.0)
    c = client_for(client, mapping_editor)
    response = c.post(EXPORT, {"format": XLSX, "resource": "0"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    assert "None" not in values


# --- unmapped buildings -----------------------------------------------------------------------------

def test_unmapped_buildings_are_listed_with_suggestions(client, mapping_editor, warehouse_data):
    page = client_for(client, mapping_editor).get(UNMAPPED)
    assert page.status_code == 200
    rows = {r["building"].building_id: r for r in page.context["rows"]}
    assert set(rows) == {102, 201}
    assert rows[102]["status"] == "review" and rows[201]["status"] == "no mapping"
    assert rows[102]["suggestions"][0]["sf_customer_id"] == 5002  # "34 Elm Avenue" for "34 Elm Ave"


def test_one_click_map_and_let_the_sync_create(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    done = c.post(UNMAPPED, {"building_id": "102", "sf_customer_id": "5002", "action": "map"}, follow=True)
    assert any("now mapped to 34 Elm Avenue" in m for m in page_messages(done))
    mapping = CustomerMapping.objects.get(pw_building_id=102)
    assert (mapping.sf_customer_id, mapping.status, mapping.method) == (5002, "mapped", "manual")
    assert mapping.history.first().history_user == mapping_editor

    c.post(UNMAPPED, {"building_id": "201", "action": "create"})
    created = CustomerMapping.objects.get(pw_building_id=201)
    assert (created.status, created.sf_customer_id, created.pw_portfolio_id) == ("create", None, 20)
    entry = LogEntry.objects.filter(object_id=str(created.pk)).get()
    assert entry.user == mapping_editor and "let the sync create" in entry.change_message
    assert {r["building"].building_id for r in c.get(UNMAPPED).context["rows"]} == {201}


def test_mapping_to_an_unknown_customer_is_refused(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    before = snapshot()
    done = c.post(UNMAPPED, {"building_id": "102", "sf_customer_id": "424242", "action": "map"}, follow=True)
    assert any("SF customer 424242 is unknown" in m for m in page_messages(done))
    done = c.post(UNMAPPED, {"building_id": "102", "sf_customer_id": "abc", "action": "map"}, follow=True)
    assert any("as a number" in m for m in page_messages(done))
    assert snapshot() == before


def test_viewer_and_operator_cannot_map_buildings(client, viewer, operator, warehouse_data):
    before = snapshot()
    for user in (viewer, operator):
        c = client_for(client, user)
        page = c.get(UNMAPPED)
        assert page.status_code == 200 and "Let the sync create it" not in page.content.decode()
        assert c.post(UNMAPPED, {"building_id": "201", "action": "create"}).status_code == 403
        client.logout()
    assert snapshot() == before


def test_edit_form_requires_a_known_sf_customer(client, mapping_editor, warehouse_data):
    c = client_for(client, mapping_editor)
    mapping = CustomerMapping.objects.get(pw_building_id=102)
    url = reverse("admin:warehouse_customermapping_change", args=[mapping.pk])
    page = c.post(url, {"sf_customer_id": "31337", "status": "mapped"})
    assert "SF customer 31337 is unknown" in page.content.decode()
    page = c.post(url, {"sf_customer_id": "5002", "status": "review"})
    assert "A reason is required" in page.content.decode()
    mapping.refresh_from_db()
    assert mapping.sf_customer_id is None
    c.post(url, {"sf_customer_id": "5002", "status": "review", "reason": "owner confirmed by phone"})
    mapping.refresh_from_db()
    assert (mapping.sf_customer_id, mapping.status, mapping.method) == (5002, "mapped", "manual")
    last = mapping.history.first()
    assert (last.history_user, last.history_change_reason) == (mapping_editor, "owner confirmed by phone")
