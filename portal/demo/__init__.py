"""The hotline's demo: a small knowledge base and a few calls taken through the services, so
the console has answers to read out, a caller with history and callbacks due at once.

Cheap (a dozen rows and four calls, through ``portal.services`` and ``cases.services``);
skipped when the knowledge base has entries already.
"""

from django.db import transaction

from accounts import policy
from accounts.models import User
from cases import services
from cases.models import Item, RequestType
from gridcity.models import District, WorkGrid
from portal.models import KnowledgeEntry
from portal.services import call_answer, call_take

KNOWLEDGE = [
    (
        "养犬需要办理登记吗？",
        "深圳市实行养犬登记制度。犬只须植入电子标识并办理登记，办理地点为辖区动物诊疗机构或"
        "公安机关指定的登记点；每年需年审。",
        "养狗 犬只 狗证 登记",
        ["consultation"],
    ),
    (
        "路边井盖缺失或松动找谁？",
        "市政道路上的井盖由产权单位负责（供水、排水、燃气、通信等）。热线会按井盖类型派给"
        "产权单位或水务部门处置，请说明准确位置。",
        "井盖 下水道 窨井",
        ["consultation", "help"],
    ),
    (
        "占道经营可以向哪里投诉？",
        "占道经营由街道城管执法队负责处理。可直接通过 12345 投诉，说明地点、时间段和经营"
        "内容，受理后派至所在街道。",
        "摆摊 占道 流动摊贩 城管",
        ["consultation"],
    ),
    (
        "夜间施工噪音扰民怎么处理？",
        "夜间（22:00 至次日 7:00）施工须持夜间施工许可。无证夜间施工由住建或生态环境部门"
        "查处，请提供工地名称和位置。",
        "噪音 施工 夜间 扰民",
        ["consultation", "complaint"],
    ),
    (
        "共享单车乱停放找谁？",
        "共享单车停放由各运营企业负责清理，交通部门监管。热线受理后转交运营企业在规定时间内清理。",
        "单车 共享单车 乱停",
        ["consultation"],
    ),
    (
        "12345 热线办理时限是多少？",
        "咨询、求助类 3 个工作日内答复；投诉、举报类 13 个工作日内办结答复；建议、表扬类 5 个"
        "工作日内答复。",
        "时限 多久 几天",
        [],
    ),
]


def _grid(district: District) -> WorkGrid | None:
    return WorkGrid.objects.filter(code__startswith=district.code).order_by("code").first()


def _staff_of(department_id: int | None) -> User | None:
    return User.objects.filter(department_id=department_id, is_active=True).first()


@transaction.atomic
def hotline_demo_seed(district: District) -> dict[str, int]:
    """Knowledge entries, and four calls of the demo operator (``hotline``): an open
    complaint, a consultation answered at once, two complaints handled and closed (their
    callbacks due)."""
    entries = KnowledgeEntry.objects.bulk_create(
        [
            KnowledgeEntry(question=q, answer=a, keywords=k, request_types=t)
            for q, a, k, t in KNOWLEDGE
        ]
    )
    operator = User.objects.filter(username="hotline").first()
    dispatcher = User.objects.filter(username="dispatcher").first()
    item = Item.objects.filter(code="0101", active=True).first()
    grid = _grid(district)
    if not (operator and dispatcher and item and grid and policy.may_take_calls(operator)):
        return {"knowledge": len(entries), "calls": 0}
    at = grid.geom.point_on_surface
    where = {"item": item, "lon": at.x, "lat": at.y, "address": grid.name}

    def take(phone, name, description):
        return call_take(
            by=operator,
            phone=phone,
            name=name,
            request_type=RequestType.COMPLAINT,
            description=description,
            **where,
        ).case

    take("13800138000", "陈先生", "小区门口井盖松动，踩上去会晃")
    call_answer(
        by=operator,
        phone="13800138000",
        name="陈先生",
        description="问井盖归哪个部门管",
        entry=entries[1],
        **where,
    )
    closed = 0
    for phone, name in (("13912345678", "林女士"), ("13687654321", "黄先生")):
        case = take(phone, name, "路口井盖缺失，夜间很危险")
        case = services.case_file(case=case, by=dispatcher)
        case = services.case_dispatch(case=case, by=dispatcher)
        staff = _staff_of(case.department_id)
        if staff is None:
            continue
        case = services.case_accept(case=case, by=staff)
        case = services.case_handle(case=case, by=staff, note="已更换井盖")
        services.case_close(case=case, by=dispatcher, note="已更换井盖，现场核实无误")
        closed += 1
    return {"knowledge": len(entries), "calls": 4, "closed": closed}


def hotline_demo_present() -> bool:
    return KnowledgeEntry.objects.exists()
