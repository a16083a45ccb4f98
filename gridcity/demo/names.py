"""Plausible Chinese names for the demo city: communities, work grids and patrol checkpoints.

Community names are two characters in the style of Bao'an place names (塘尾, 凤凰, 福围, …) plus
社区; grids are numbered within their community (塘尾第007网格); checkpoints are the places a
patrol route passes (塘尾东三巷, 塘尾菜市场, 塘尾小学门口, …). Everything is drawn from a numpy
Generator, so the same seed gives the same names.
"""

from collections.abc import Iterator, Sequence
from itertools import product

import numpy as np

COMMUNITY_SUFFIX = "社区"

# First characters, common at the start of place names in Bao'an and the Pearl River delta:
# landforms and nature, auspicious words, and directions and sizes.
NATURE_FIRST = "海塘潭桥岗洲田沙石水松桃白黄罗铁鹤燕凤龙碧翠步"
AUSPICIOUS_FIRST = "福新和兴永安乐宝万华丰盛"
DIRECTION_FIRST = "上下大西东南北"
# Second characters: landforms and settlement words (围 walled village, 涌 creek, 坑 valley, …)
# that follow any first character; 头 and 边 only after a place word; auspicious endings only
# after an auspicious word, a direction or a few pretty ones (桃源, 翠华).
LANDFORM_SECOND = "围尾湾涌坑园岭山田岗洲塘桥庄湖"
PLACE_SECOND = {"头": "桥岗洲田塘龙松水西东南北", "边": "塘桥田沙岗西东南北", "凰": "凤"}
AUSPICIOUS_SECOND = "美丰兴和安华源"
PRETTY_FIRST = "龙凤桃翠碧"

_DIRECTIONS = set("东南西北上下")
# Names that read badly, mean something else, or belong to a real place that is not a community
# of Bao'an (a district of Shenzhen, the district itself, one of the ten streets).
_AVOIDED = (
    # everyday words that make odd place names
    "大头 石头 上头 下头 源头 乐园 上岗 下岗 大坑 水坑 水湖 北美 南美 东美 西美 安乐 田园 "
    "大和 西湖 东湖 大湾 盛和 丰和 和和 万美 宝美 盛美 上和 下和 上美 下美 "
    # places elsewhere in Shenzhen, the district itself and its ten streets
    "南山 福田 龙岗 龙华 罗湖 沙头 宝安 新安 西乡 航城 福永 福海 沙井 新桥 松岗 燕罗 石岩"
)
AVOIDED_NAMES = frozenset(_AVOIDED.split())
# Real names of Bao'an villages that the rules above do not produce.
EXTRA_NAMES = ("固戍", "怀德", "蚝乡", "衙边", "白石", "上星", "灶下")

CHINESE_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
COMPASS = ("东", "南", "西", "北")

# Places a patrol passes, after the community's short name. "{n}" takes a numeral, "{d}" a
# compass direction.
CHECKPOINT_PLACES = (
    "菜市场",
    "农贸市场",
    "综合市场",
    "小学门口",
    "中学门口",
    "幼儿园门口",
    "公交站",
    "公交总站",
    "社区服务中心",
    "社康中心",
    "党群服务中心",
    "文化广场",
    "公园",
    "体育公园",
    "篮球场",
    "老人活动中心",
    "祠堂",
    "牌坊",
    "垃圾转运站",
    "消防站",
    "派出所门口",
    "加油站路口",
    "河涌桥头",
    "停车场入口",
    "商业街口",
    "地铁站出口",
    "医院门口",
    "图书馆",
    "榕树广场",
    "古井",
    "村委旧址",
    "农民房片区",
    "{d}{n}巷",
    "{n}巷路口",
    "{n}坊",
    "新村{n}栋",
    "工业园{n}栋",
    "工业区{d}门",
    "花园小区{d}门",
    "大道{d}侧天桥",
)


def _allowed(first: str, second: str) -> bool:
    if first == second or (first in _DIRECTIONS and second in _DIRECTIONS):
        return False
    if first + second in AVOIDED_NAMES:
        return False
    if second in LANDFORM_SECOND:
        return True
    if second in PLACE_SECOND:
        return first in PLACE_SECOND[second]
    return first in AUSPICIOUS_FIRST + DIRECTION_FIRST + PRETTY_FIRST


def community_short_name_candidates() -> list[str]:
    """Every two-character name the generator may use, in a fixed order."""
    firsts = NATURE_FIRST + AUSPICIOUS_FIRST + DIRECTION_FIRST
    seconds = LANDFORM_SECOND + "".join(PLACE_SECOND) + AUSPICIOUS_SECOND
    names = [a + b for a, b in product(firsts, seconds) if _allowed(a, b)]
    names += [n for n in EXTRA_NAMES if n not in names]
    return names


def community_short_names(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct two-character community names (without 社区), drawn from ``rng``."""
    candidates = community_short_name_candidates()
    if count > len(candidates):
        raise ValueError(f"only {len(candidates)} community names available, {count} asked for")
    return [candidates[i] for i in rng.permutation(len(candidates))[:count]]


def community_name(short: str) -> str:
    return short + COMMUNITY_SUFFIX


def grid_name(community_short: str, number: int) -> str:
    """``塘尾第007网格``: the community's short name and the grid's number within it."""
    return f"{community_short}第{number:03d}网格"


def checkpoint_place_names() -> list[str]:
    """Every place (without the community's name) a checkpoint may take, in a fixed order."""
    places = []
    for template in CHECKPOINT_PLACES:
        numerals = CHINESE_NUMERALS if "{n}" in template else ("",)
        directions = COMPASS if "{d}" in template else ("",)
        places += [template.format(n=n, d=d) for d in directions for n in numerals]
    return places


def checkpoint_names(
    community_short: str, counts: Sequence[int], rng: np.random.Generator
) -> list[list[str]]:
    """Checkpoint names for the grids of one community, ``counts[i]`` for grid i.

    Names are distinct within a grid and, as far as the list of places allows, within the whole
    community: places are dealt from a shuffled deck that is reshuffled only once it runs out.
    """
    places = checkpoint_place_names()
    deck = _deal(places, rng)
    result = []
    for count in counts:
        chosen: list[str] = []
        while len(chosen) < count:
            place = next(deck)
            if place not in chosen:
                chosen.append(place)
        result.append([community_short + place for place in chosen])
    return result


def _deal(items: Sequence[str], rng: np.random.Generator) -> Iterator[str]:
    while True:
        for i in rng.permutation(len(items)):
            yield items[i]
