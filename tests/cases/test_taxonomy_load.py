"""load_taxonomy: the demo taxonomy goes in whole, again changes nothing, a bad file nothing."""

import json

import pytest
from django.core.management import CommandError, call_command

from accounts.demo import DEPARTMENTS
from accounts.models import Department
from cases.models import Category, Item
from cases.taxonomy import DEMO_TAXONOMY, TaxonomyInvalid, taxonomy_load, taxonomy_load_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def departments():
    Department.objects.bulk_create([Department(code=c, name=n) for c, n in DEPARTMENTS])


def test_the_demo_taxonomy_loads_whole_and_again_changes_nothing(departments):
    first = taxonomy_load_file(DEMO_TAXONOMY)
    again = taxonomy_load_file(DEMO_TAXONOMY)

    assert first == {"categories": 11, "items created": 152, "items updated": 0}
    assert again == {"categories": 11, "items created": 0, "items updated": 0}
    assert Category.objects.count() == 11 and Item.objects.count() == 152
    cover = Item.objects.get(name="井盖缺失")
    assert cover.emergency and cover.handle_unit == "clock_hours"


def test_an_event_without_a_department_goes_to_the_street_office(departments):
    taxonomy_load_file(DEMO_TAXONOMY)

    assert Item.objects.filter(ownership="locality", department__isnull=True).exists()


def test_a_changed_limit_updates_the_item_in_place(departments):
    taxonomy_load_file(DEMO_TAXONOMY)
    data = json.loads(DEMO_TAXONOMY.read_text(encoding="utf-8"))
    item = data["categories"][0]["items"][0]
    item["limits"]["handle"] = [9, "work_days"]
    pk = Item.objects.get(code=item["code"]).pk

    counts = taxonomy_load(data)

    assert counts["items updated"] == 1
    assert Item.objects.get(pk=pk).handle_limit == 9


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"department": "nowhere"}, "no department"),
        ({"ownership": "mine"}, "ownership"),
        ({"limits": {"file": [0, "work_hours"]}}, "limits.file"),
        ({"limits": {"file": [1, "fortnights"]}}, "limits.file"),
    ],
)
def test_a_bad_item_loads_nothing_and_says_which(departments, tmp_path, change, message):
    data = json.loads(DEMO_TAXONOMY.read_text(encoding="utf-8"))
    last = data["categories"][-1]["items"][-1]
    last.update(change)
    if "limits" in change:
        last["limits"] = {**data["categories"][0]["items"][0]["limits"], **change["limits"]}
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    with pytest.raises(CommandError, match=message):
        call_command("load_taxonomy", str(path), verbosity=0)

    assert not Item.objects.exists() and not Category.objects.exists()


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(TaxonomyInvalid):
        taxonomy_load_file(path)


def test_the_demo_taxonomy_says_what_citizens_may_report_and_what_stays_private(departments):
    taxonomy_load_file(DEMO_TAXONOMY)

    rubbish = Item.objects.get(code="1101")
    assert (rubbish.public_name, rubbish.public_name_en) == (
        "路边有垃圾",
        "Rubbish left in the street",
    )
    camera = Item.objects.get(code="0120")  # 治安监控探头: a security matter
    assert camera.private and not camera.citizen_reportable
    assert Item.objects.filter(citizen_reportable=True).count() > 140
    assert not Item.objects.get(code="1201").private


def test_a_file_silent_on_the_public_side_keeps_the_administrators_choice(departments):
    taxonomy_load_file(DEMO_TAXONOMY)
    Item.objects.filter(code="1109").update(private=True, public_name="夜里很吵")
    data = json.loads(DEMO_TAXONOMY.read_text(encoding="utf-8"))
    for category in data["categories"]:
        for item in category["items"]:
            for key in ("public_name_zh", "public_name_en", "citizen_reportable", "private"):
                item.pop(key, None)

    taxonomy_load(data)

    noise = Item.objects.get(code="1109")
    assert noise.private and noise.public_name == "夜里很吵"
