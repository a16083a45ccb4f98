"""Load the case taxonomy (部件/事件 → 大类 → 小类 with time limits) from its JSON form.

The file lists categories with their items, each item's department by code (``"street"``: the
street office of the case's street), ownership rule, emergency flag and four stage limits as
``[amount, unit]``. Loading is all-or-nothing and idempotent: items are matched by code and
updated in place, so loading the same file twice changes nothing, and cases keep their items.
"""

import json
from pathlib import Path

from django.db import transaction

from accounts.models import Department
from cases.models import CaseClass, Category, Item, Ownership, TimeUnit

DEMO_TAXONOMY = Path(__file__).resolve().parent / "data" / "taxonomy.json"
STAGES = ("file", "dispatch", "handle", "verify")


class TaxonomyInvalid(ValueError):
    """The file breaks a rule; the message names the item and the field."""


def _check(items: list[dict], departments: dict[str, Department]) -> None:
    units = set(TimeUnit.values)
    seen = set()
    for item in items:
        where = f"item {item.get('code')!r}"
        if item.get("code") in seen:
            raise TaxonomyInvalid(f"{where}: code used twice")
        seen.add(item.get("code"))
        for field in ("code", "name_zh", "ownership", "limits"):
            if not item.get(field):
                raise TaxonomyInvalid(f"{where}: {field} is missing")
        if item["ownership"] not in Ownership.values:
            raise TaxonomyInvalid(f"{where}: ownership must be one of {Ownership.values}")
        code = item.get("department") or "street"
        if code != "street" and code not in departments:
            raise TaxonomyInvalid(f"{where}: no department with code {code!r}")
        for stage in STAGES:
            limit = item["limits"].get(stage)
            if (
                not isinstance(limit, list)
                or len(limit) != 2
                or not isinstance(limit[0], int)
                or isinstance(limit[0], bool)
                or limit[0] <= 0
                or limit[1] not in units
            ):
                raise TaxonomyInvalid(
                    f"{where}: limits.{stage} must be [positive integer, one of {sorted(units)}]"
                )


# What the public side reads of an item (市民门户): its name in a citizen's words, whether it is
# offered on the portal, whether its cases stay off every public page. Only the keys the file
# gives are written, so an administrator's choices in the admin survive a reload of a file
# that says nothing about them.
PUBLIC_KEYS = {
    "public_name_zh": "public_name",
    "public_name_en": "public_name_en",
    "citizen_reportable": "citizen_reportable",
    "private": "private",
}


def _public_side(item: dict) -> dict:
    return {field: item[key] for key, field in PUBLIC_KEYS.items() if key in item}


@transaction.atomic
def taxonomy_load(data: dict) -> dict[str, int]:
    """Create or update every category and item of ``data``; returns counts."""
    categories = data.get("categories")
    if not isinstance(categories, list) or not categories:
        raise TaxonomyInvalid("the file has no categories")
    departments = {d.code: d for d in Department.objects.all()}
    for category in categories:
        if category.get("class") not in CaseClass.values:
            raise TaxonomyInvalid(
                f"category {category.get('code')!r}: class must be one of {CaseClass.values}"
            )
    _check([i for c in categories for i in c.get("items", [])], departments)
    counts = {"categories": 0, "items created": 0, "items updated": 0}
    for spec in categories:
        category, _ = Category.objects.update_or_create(
            code=spec["code"],
            defaults={
                "case_class": spec["class"],
                "name": spec["name_zh"],
                "name_en": spec.get("name_en", ""),
            },
        )
        counts["categories"] += 1
        for item in spec.get("items", []):
            defaults = {
                "category": category,
                "name": item["name_zh"],
                "name_en": item.get("name_en", ""),
                "filing_condition": item.get("filing_condition", ""),
                "closing_condition": item.get("closing_condition", ""),
                "department": departments.get(item.get("department") or "street"),
                "ownership": item["ownership"],
                "emergency": bool(item.get("emergency")),
                "active": True,
            }
            for stage in STAGES:
                defaults[f"{stage}_limit"], defaults[f"{stage}_unit"] = item["limits"][stage]
            defaults.update(_public_side(item))
            existing = Item.objects.filter(code=item["code"]).first()
            if existing is None:
                Item.objects.create(code=item["code"], **defaults)
                counts["items created"] += 1
            elif any(getattr(existing, k) != v for k, v in defaults.items()):
                for k, v in defaults.items():
                    setattr(existing, k, v)
                existing.save()
                counts["items updated"] += 1
    return counts


def taxonomy_load_file(path: Path = DEMO_TAXONOMY) -> dict[str, int]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaxonomyInvalid(f"{path}: {exc}") from exc
    return taxonomy_load(data)
