from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import CallJob, NumberList

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_imports_with_the_web_code_path_and_prints_the_summary(campaign, tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("phone,name\n+1 650 555 0100,Ann\nnope,Bob\n+1 650 555 0100,Again\n+1 650 555 0101,Cy\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_numbers", str(campaign.pk), str(path), "--region", "US", stdout=out, stderr=err)
    text = out.getvalue()
    assert "rows        4" in text and "valid       2" in text
    assert "duplicate_in_list" in text and "unparseable_phone" in text
    assert "100%" in err.getvalue()
    assert CallJob.objects.filter(campaign=campaign).count() == 2
    assert NumberList.objects.get().state == "imported"
    assert CallJob.objects.get(phone="16505550100").payload == {"name": "Ann"}


def test_a_wrong_mapping_is_refused_with_the_reason(campaign, tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("phone,name\n+1 650 555 0100,Ann\n")
    with pytest.raises(CommandError, match="not in the file"):
        call_command("import_numbers", campaign.name, str(path), "--phone", "tel", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No single campaign"):
        call_command("import_numbers", "nope", str(path), stdout=io.StringIO())
