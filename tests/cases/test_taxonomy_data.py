"""The demo case taxonomy (部件和事件分类): the data file's shape, codes, owners and time limits.

Plain JSON checks, no database: the file is read straight from the repository.
"""

import json
from collections import Counter
from pathlib import Path

import pytest

TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "cases" / "data" / "taxonomy.json"

EXPECTED_CATEGORIES = [
    ("01", "component", "公用设施"),
    ("02", "component", "道路交通"),
    ("03", "component", "市容环境"),
    ("04", "component", "园林绿化"),
    ("05", "component", "房屋土地"),
    ("06", "component", "其他设施"),
    ("11", "event", "市容环境"),
    ("12", "event", "宣传广告"),
    ("13", "event", "施工管理"),
    ("14", "event", "街面秩序"),
    ("15", "event", "突发事件"),
]
DEPARTMENTS = {
    "chengguan",
    "huanbao",
    "zhujian",
    "shichang",
    "shuiwu",
    "jiaotong",
    "gongan",
    "yingji",
    "guihua",
    "gongdian",
    "ranqi",
    "tongxin",
    "street",
}
STAGES = ("file", "dispatch", "handle", "verify")
UNITS = {"work_hours", "work_days", "clock_hours"}
# Optional: what the public side reads (cases.taxonomy.PUBLIC_KEYS).
PUBLIC_FIELDS = {"public_name_zh", "public_name_en", "citizen_reportable", "private"}
ITEM_FIELDS = {
    "code",
    "name_zh",
    "name_en",
    "filing_condition",
    "closing_condition",
    "department",
    "ownership",
    "emergency",
    "limits",
}


@pytest.fixture(scope="module")
def taxonomy() -> dict:
    return json.loads(TAXONOMY_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def categories(taxonomy) -> list[dict]:
    return taxonomy["categories"]


@pytest.fixture(scope="module")
def items(categories) -> list[tuple[dict, dict]]:
    """Every item with the category it sits in."""
    return [(category, item) for category in categories for item in category["items"]]


def test_there_are_the_eleven_major_classes_of_the_standard(categories):
    assert [(c["code"], c["class"], c["name_zh"]) for c in categories] == EXPECTED_CATEGORIES
    assert all(c["name_en"].strip() for c in categories)


def test_the_taxonomy_holds_152_items(items):
    assert len(items) == 152


def test_every_item_carries_all_its_fields(items):
    for _, item in items:
        assert ITEM_FIELDS <= set(item) <= ITEM_FIELDS | PUBLIC_FIELDS, item["code"]
        assert isinstance(item["emergency"], bool), item["code"]


def test_the_public_side_of_an_item_is_plain_words_and_flags(items):
    for _, item in items:
        for key in ("public_name_zh", "public_name_en"):
            assert isinstance(item.get(key, ""), str) and len(item.get(key, "")) <= 50, item["code"]
        for key in ("citizen_reportable", "private"):
            assert isinstance(item.get(key, False), bool), item["code"]
        # A private item's cases never show publicly, so citizens are not offered it either.
        assert not item.get("private") or item.get("citizen_reportable") is False, item["code"]


def test_item_codes_are_unique_across_the_file(items):
    duplicates = [code for code, n in Counter(i["code"] for _, i in items).items() if n > 1]
    assert duplicates == []


def test_item_code_is_its_category_code_and_a_two_digit_sequence(items):
    for category, item in items:
        code = item["code"]
        assert len(code) == 4 and code.isdigit(), code
        assert code.startswith(category["code"]), code


def test_names_are_unique_within_a_category(categories):
    for category in categories:
        names = [i["name_zh"] for i in category["items"]]
        assert len(names) == len(set(names)), category["code"]


def test_every_item_has_both_names_and_both_conditions(items):
    for _, item in items:
        for field in ("name_zh", "name_en", "filing_condition", "closing_condition"):
            assert isinstance(item[field], str) and item[field].strip(), (item["code"], field)


def test_every_component_goes_to_its_owner_first(items):
    for category, item in items:
        if category["class"] == "component":
            assert item["ownership"] == "owner", item["code"]


def test_every_event_goes_to_the_locality_first(items):
    for category, item in items:
        if category["class"] == "event":
            assert item["ownership"] == "locality", item["code"]


def test_every_item_is_dispatched_to_a_known_department(items):
    unknown = {(i["code"], i["department"]) for _, i in items if i["department"] not in DEPARTMENTS}
    assert unknown == set()


def test_every_stage_has_a_positive_whole_number_in_a_known_unit(items):
    for _, item in items:
        limits = item["limits"]
        assert set(limits) == set(STAGES), item["code"]
        for stage in STAGES:
            number, unit = limits[stage]
            # bool is an int in Python: a stray true must not pass for 1.
            assert type(number) is int and number > 0, (item["code"], stage)
            assert unit in UNITS, (item["code"], stage)


def test_every_emergency_runs_round_the_clock_at_every_stage(items):
    emergencies = [i for _, i in items if i["emergency"]]
    assert emergencies
    for item in emergencies:
        units = {item["limits"][stage][1] for stage in STAGES}
        assert units == {"clock_hours"}, item["code"]


def test_ordinary_items_keep_to_working_time(items):
    for _, item in items:
        if not item["emergency"]:
            units = {item["limits"][stage][1] for stage in STAGES}
            assert "clock_hours" not in units, item["code"]


def test_emergencies_are_a_minority_of_the_catalogue(items):
    assert 15 <= sum(i["emergency"] for _, i in items) <= 25
