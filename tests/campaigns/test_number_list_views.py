from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import CallJob, CampaignStatusCount, DoNotCallEntry, NumberList
from campaigns.services.imports import number_list_claim_next

pytestmark = pytest.mark.django_db(transaction=True)

CSV = (
    "Телефон;Имя;Город;TZ\n"
    "+7 911 000-00-01;Анна;Москва;Europe/Moscow\n"
    "8 (911) 000-00-02;Борис;Казань;\n"
    "not a phone;Вера;Тверь;\n"
    "+7 911 000-00-01;Анна again;Москва;\n"
    "+7 911 000-00-03;Глеб;Сочи;+25:00\n"
    "+7 911 000-00-04;Дина;Омск;+06:00\n"
    "=HYPERLINK(\"http://x\");Evil;X;\n"
)


def upload(client, campaign, name, data, **extra):
    f = SimpleUploadedFile(name, data)
    return client.post(f"/campaigns/{campaign.pk}/upload/", {"file": f, "default_region": "RU", **extra})


def test_upload_map_import_summary_and_error_report(admin_client_, campaign, immediate_tasks):
    DoNotCallEntry.objects.create(phone_e164="+79110000004")
    response = upload(admin_client_, campaign, "list.csv", CSV.encode("cp1251"))
    assert response.status_code == 302
    number_list = NumberList.objects.get()
    assert number_list.detected["encoding"] in ("cp1251", "windows-1251")
    assert number_list.detected["delimiter"] == ";" and number_list.detected["has_header"]
    page = admin_client_.get(response["Location"]).content.decode()
    assert "Телефон" in page and "Анна" in page  # the preview, decoded
    assert 'value="Телефон" selected' in page or "selected" in page
    response = admin_client_.post(response["Location"], {
        "phone": "Телефон", "time_zone": "TZ", "payload": ["Имя", "Город"], "default_region": "RU"})
    assert response.status_code == 302
    number_list.refresh_from_db()
    assert number_list.state == "imported"
    summary = number_list.summary
    assert summary["total"] == 7 and summary["valid"] == 2
    reasons = summary["invalid_by_reason"]
    assert reasons["duplicate_in_list"] == 1 and reasons["do_not_call"] == 1 and reasons["invalid_time_zone"] == 1
    jobs = {j.phone: j for j in CallJob.objects.filter(campaign=campaign)}
    assert set(jobs) == {"79110000001", "79110000002"}
    assert jobs["79110000001"].gmt_zone == "Europe/Moscow" and jobs["79110000001"].payload == {"Имя": "Анна", "Город": "Москва"}
    assert jobs["79110000002"].gmt_zone == ""  # a Russian mobile spans eleven zones: the campaign's applies
    assert CampaignStatusCount.objects.get(campaign=campaign, status="pending").count == 2
    page = admin_client_.get(f"/campaigns/{campaign.pk}/lists/{number_list.pk}/").content.decode()
    assert "Calling window" in page and "Download error report" in page
    report = b"".join(admin_client_.get(f"/campaigns/{campaign.pk}/lists/{number_list.pk}/errors.csv").streaming_content)
    text = report.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("row")
    assert "\n8,\"'=HYPERLINK" in text  # row 8's formula is neutralised with a leading quote


def test_xlsx_upload(admin_client_, campaign, immediate_tasks):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["phone", "name"])
    ws.append(["+1 650 555 0100", "Ann"])
    ws.append([16505550101, "Bob"])
    buf = io.BytesIO()
    wb.save(buf)
    response = upload(admin_client_, campaign, "list.xlsx", buf.getvalue(), default_region="US")
    assert response.status_code == 302
    admin_client_.post(response["Location"], {"phone": "phone", "payload": ["name"], "default_region": "US"})
    jobs = dict(CallJob.objects.values_list("phone", "gmt_zone"))
    assert jobs == {"16505550100": "America/Los_Angeles", "16505550101": "America/Los_Angeles"}  # implied by 650


def test_a_file_that_is_not_a_table_is_refused_with_a_message(admin_client_, campaign):
    response = upload(admin_client_, campaign, "x.pdf", b"%PDF-1.4")
    assert "Upload a .csv" in response.content.decode()
    response = upload(admin_client_, campaign, "empty.csv", b"")
    assert response.status_code == 200 and "The submitted file is empty" in response.content.decode()
    response = upload(admin_client_, campaign, "blank.csv", b"\n\n")
    assert response.status_code == 200 and "holds no rows" in response.content.decode()


def test_a_second_list_waits_while_one_imports(admin_client_, campaign):
    for name in ("a.csv", "b.csv"):
        response = upload(admin_client_, campaign, name, b"phone\n+16505550100\n", default_region="US")
        admin_client_.post(response["Location"], {"phone": "phone", "default_region": "US"})
    first = number_list_claim_next(campaign_id=campaign.pk)
    assert first is not None and first.original_name == "a.csv"
    assert number_list_claim_next(campaign_id=campaign.pk) is None  # b waits, not mixed
    assert NumberList.objects.get(original_name="b.csv").state == "queued"


def test_mapping_needs_a_phone_column_that_exists(admin_client_, campaign):
    response = upload(admin_client_, campaign, "a.csv", b"phone,name\n+16505550100,A\n", default_region="US")
    page = admin_client_.post(response["Location"], {"phone": "nope"}).content.decode()
    assert "Select a valid choice" in page


def test_supervisor_can_watch_a_list_but_not_map_it(supervisor_client, admin_client_, campaign):
    response = upload(admin_client_, campaign, "a.csv", b"phone\n+16505550100\n", default_region="US")
    assert supervisor_client.get(response["Location"]).status_code == 200
    assert supervisor_client.post(response["Location"], {"phone": "phone"}).status_code == 403


def test_do_not_call_list_add_and_import(admin_client_):
    response = admin_client_.post("/campaigns/do-not-call/", {"add": "1", "phone": "(650) 555-0100", "region": "US"})
    assert response.status_code == 302
    assert DoNotCallEntry.objects.filter(phone_e164="+16505550100").exists()
    page = admin_client_.post("/campaigns/do-not-call/", {"add": "1", "phone": "12", "region": "US"}).content.decode()
    assert "not a valid phone number" in page
    f = SimpleUploadedFile("dnc.csv", b"phone\n+16505550101\n+16505550100\nbad\n")
    admin_client_.post("/campaigns/do-not-call/", {"import": "1", "file": f, "region": "US"})
    assert DoNotCallEntry.objects.count() == 2
