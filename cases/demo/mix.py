"""The demo case history's mix: who reports what, when, and how each case ends."""

from zoneinfo import ZoneInfo

from cases.models import Source, Stage

DEMO_DISTRICT = "440306"
SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH_SIZE = 5_000
POINTS_PER_GRID = 48


class DemoCasesMissing(ValueError):
    """What the history needs is not in the database: the demo city, its people, the taxonomy."""


# --- the mix: who reports what, when, and how it ends ---------------------------------------

# Grid inspectors find most problems on patrol; the 12345 hotline and citizens' own reports
# come next; sensors (smart covers, video analytics) and supervisors' spot checks are few.
SOURCE_SHARES = (
    (Source.INSPECTOR, 70),
    (Source.HOTLINE, 12),
    (Source.CITIZEN, 8),
    (Source.SENSOR, 5),
    (Source.SUPERVISOR, 5),
)

# When each source reports, as (from, to, share) in local minutes: inspectors within their
# patrol periods, the hotline and citizens from morning to late evening, sensors at any hour.
REPORT_HOURS = {
    Source.INSPECTOR: ((510, 720, 45), (840, 1080, 45), (1080, 1260, 7), (420, 510, 3)),
    Source.SUPERVISOR: ((540, 720, 50), (840, 1050, 50)),
    Source.HOTLINE: (
        (0, 420, 2),
        (420, 540, 8),
        (540, 720, 30),
        (720, 840, 12),
        (840, 1080, 30),
        (1080, 1320, 15),
        (1320, 1440, 3),
    ),
    Source.CITIZEN: (
        (0, 420, 2),
        (420, 540, 10),
        (540, 720, 22),
        (720, 840, 14),
        (840, 1080, 22),
        (1080, 1380, 25),
        (1380, 1440, 5),
    ),
    Source.SENSOR: ((0, 1440, 1),),
}

# Street-level events dominate every city's statistics; emergencies are rare.
ITEM_WEIGHTS = {
    "暴露垃圾": 60,
    "占道经营": 45,
    "乱堆物料": 40,
    "店外经营": 25,
    "流动摊贩": 22,
    "非机动车乱停放": 20,
    "机动车乱停放": 18,
    "非法小广告": 18,
    "共享单车乱停放": 16,
    "垃圾满溢": 15,
    "道路不洁": 12,
    "乱拉晒挂": 10,
    "乱扔乱倒": 10,
    "积存垃圾渣土": 8,
    "工地扬尘": 6,
    "渣土车遗撒": 6,
    "飞线充电": 6,
    "涂写刻画": 6,
    "噪声扰民": 6,
    "施工占道": 5,
    "条幅": 5,
    "占道广告牌": 5,
    "大件垃圾乱弃": 5,
    "油烟污染": 4,
    "露天烧烤": 4,
}
OTHER_EVENT_WEIGHT = 2.0
COMPONENT_WEIGHT = 1.0
EMERGENCY_WEIGHT = 0.15
# What sensors and video analytics report (智能井盖, 积水/噪声/油烟/扬尘监测, AI 视频识别).
SENSED_ITEMS = frozenset(
    {
        "上水井盖",
        "污水井盖",
        "雨水井盖",
        "电力井盖",
        "通信井盖",
        "燃气井盖",
        "井盖缺失",
        "窨井冒溢",
        "道路积水",
        "垃圾满溢",
        "噪声扰民",
        "油烟污染",
        "工地扬尘",
        "暴露垃圾",
        "占道经营",
        "机动车乱停放",
        "消防通道堵塞",
    }
)

# How a case ends (per mille). The resolved ones close after verification or on the command
# centre's word; "held" are suspended (挂账) for a while and then resolved; "suspended" stay on
# hold; "stuck" are handled very late, the long tail of every overdue list.
FATES = (
    ("resolved", 875),
    ("rejected", 45),
    ("duplicate", 25),
    ("cancelled", 20),
    ("held", 15),
    ("suspended", 15),
    ("stuck", 5),
)
RETURNED_SHARE = 0.04  # dispatched to the wrong department first, returned, redispatched
REWORK_SHARES = (0.06, 0.01)  # verification failed once; twice
CLOSED_BY_CENTRE_SHARE = 0.08  # closed on the handling photos, without an on-site check
RATED_SHARE = 0.6  # hotline and citizen reports rated by the reporter once closed
RATINGS = ((5, 55), (4, 30), (3, 10), (2, 3), (1, 2))
# Share of each stage done after its deadline: together about one case in ten is overdue once.
LATE = {Stage.FILE: 0.02, Stage.DISPATCH: 0.02, Stage.HANDLE: 0.05, Stage.VERIFY: 0.02}
# The overdue sweep runs every minute (CELERY_BEAT_SCHEDULE), the due-soon warning every five.
SWEEP_SECONDS = 60
WARN_SWEEP_SECONDS = 300

REJECT_NOTES = ("不符合立案条件", "不属于城市管理范围", "现场无此问题", "信息不全，无法核实")
CANCEL_NOTES = ("误报", "重复上报，作废", "上报人撤回", "测试数据")
RETURN_NOTES = ("不属于本部门职责范围，请重新派遣", "权属不明，申请回退")
SUSPEND_NOTES = ("需多部门协调，暂时挂账", "待资金落实后处置", "涉及产权纠纷，待法院裁定")
HANDLE_NOTES = ("已处置完毕", "已清理完毕，现场恢复整洁", "已责令整改并完成", "已维修更换")
FAIL_NOTES = ("现场核查未整改到位", "问题仍然存在，需返工")
PASS_NOTES = ("现场核查通过", "已整改到位", "")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾肖田"


def cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out
