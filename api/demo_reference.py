"""The demo province's reference data: specialties, names, kinds of organisation and project, regions."""

from __future__ import annotations

from dataclasses import dataclass

# Modelled on 评标专家专业分类标准 (发改法规〔2018〕316号): a letter per class (A 工程, B 货物, C 服务) and
# two digits per level. Leaves only (what an expert declares), with a relative popularity weight.
SPECIALTIES: dict[str, tuple[str, float]] = {
    "A010101": ("房屋建筑 土建施工", 9), "A010102": ("房屋建筑 钢结构", 3), "A0102": ("建筑装饰装修", 5),
    "A0103": ("建筑设计", 5), "A0104": ("建筑智能化", 3),
    "A0201": ("水利工程施工", 4), "A0202": ("水工结构设计", 2), "A0203": ("农田水利", 2),
    "A0301": ("输变电工程", 3), "A0302": ("新能源发电", 2),
    "A0401": ("通信管线工程", 2), "A0402": ("信息系统集成工程", 3),
    "A0501": ("机电设备安装", 4), "A0502": ("给排水与暖通", 4), "A0503": ("消防工程", 3),
    "A0601": ("岩土工程勘察", 2), "A0602": ("工程测量", 2),
    "A0701": ("园林景观", 4), "A0702": ("绿化养护", 2),
    "A080101": ("城市道路", 6), "A080102": ("桥梁隧道", 4), "A0802": ("城市管网", 5),
    "A0803": ("公路工程", 5), "A0804": ("轨道交通", 2),
    "A0901": ("工程造价", 12), "A0902": ("工程监理", 5), "A0903": ("工程项目管理", 3),
    "B0101": ("计算机及网络设备", 6), "B0102": ("软件产品", 4), "B0103": ("安防监控设备", 3),
    "B0201": ("医学影像设备", 3), "B0202": ("检验分析设备", 3), "B0203": ("医用耗材", 3),
    "B0204": ("手术与急救设备", 2),
    "B0301": ("办公设备", 3), "B0302": ("家具", 2),
    "B0401": ("教学设备", 3), "B0402": ("实验室仪器", 2),
    "B0501": ("车辆", 2), "B0502": ("工程机械", 2),
    "B0601": ("电气设备", 3), "B0602": ("照明设备", 2),
    "C0101": ("可行性研究", 3), "C0102": ("全过程工程咨询", 3),
    "C0201": ("软件开发", 4), "C0202": ("信息系统运维", 3),
    "C0301": ("物业管理", 4), "C0302": ("餐饮服务", 2),
    "C0401": ("财务审计", 6), "C0402": ("法律服务", 4),
    "C0501": ("城乡规划", 3), "C0502": ("测绘服务", 2),
    "C0601": ("医疗卫生服务", 2),
    "C0701": ("环境影响评价", 3), "C0702": ("环卫保洁", 3),
}

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余"
    "潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文玉海云鹏飞斌辉宁波林峰晓春东亮婷雪琳俊浩宇"
    "新庆利成兵凯德晨梅兰凤岩坤锋毅振立鑫慧颖博彬旭永忠玲燕萍"
)
BRANDS = "鲁华泰恒鑫正宏达信安盛通海天元远德诚嘉瑞博金汇中建城科润丰明新昌联兴和祥齐岳舜泉"


@dataclass(frozen=True, slots=True)
class OrgKind:
    """A kind of organisation: share of companies, staff weight, name suffixes, expert specialty groups."""

    share: float
    staff: float
    suffixes: tuple[str, ...]
    groups: tuple[str, ...]


# Companies: named "<city><brand><suffix>"; share is among the non-public organisations of a region.
COMPANY_KINDS: dict[str, OrgKind] = {
    "contractor": OrgKind(0.30, 3.0, (
        "建设集团有限公司", "建筑工程有限公司", "路桥工程有限公司", "市政工程有限公司", "水利水电工程有限公司",
        "电力工程有限公司", "园林绿化工程有限公司", "安装工程有限公司", "装饰工程有限公司"),
        ("A01", "A01", "A02", "A03", "A05", "A07", "A08", "A08", "A09")),
    "design": OrgKind(0.09, 6.0, ("建筑设计研究院有限公司", "市政工程设计研究院有限公司", "勘察测绘院有限公司"),
                      ("A01", "A02", "A03", "A04", "A06", "A08", "C05")),
    "consult": OrgKind(0.09, 3.0, ("工程咨询有限公司", "工程监理有限公司", "造价咨询有限公司"),
                       ("A09", "A09", "C01", "C04")),
    "agent": OrgKind(0.08, 0.6, ("招标代理有限公司", "项目管理有限公司", "招标有限公司"), ("A09", "C01", "C04")),
    "supplier": OrgKind(0.28, 1.0, (
        "信息技术有限公司", "医疗器械有限公司", "科技有限公司", "办公设备有限公司", "仪器设备有限公司",
        "电气有限公司", "汽车销售服务有限公司"), ("B01", "B01", "B02", "B03", "B04", "B05", "B06")),
    "service": OrgKind(0.16, 1.5, ("物业管理有限公司", "环境服务有限公司", "会计师事务所有限公司", "律师事务所",
                                   "软件有限公司", "餐饮管理有限公司"), ("C02", "C03", "C04", "C04", "C07")),
}
# Public organisations (tenderers and supervisors); tags let a project kind find a fitting tenderer.
BUREAUS: tuple[tuple[str, str], ...] = (
    ("住房和城乡建设局", "eng"), ("财政局", "fin"), ("发展和改革委员会", "dev"), ("交通运输局", "road"),
    ("教育局", "edu"), ("卫生健康委员会", "med"), ("水利局", "water"), ("城市管理局", "city"),
    ("公安局", "police"), ("自然资源和规划局", "plan"), ("大数据局", "it"), ("生态环境局", "env"),
    ("农业农村局", "agri"), ("机关事务服务中心", "office"), ("公路事业发展中心", "road"),
)
PUBLIC_EXTRA: tuple[tuple[str, str, str], ...] = (
    # (kind, name pattern with {c} = city short name, tag)
    ("hospital", "{c}市第一人民医院", "med"), ("soe", "{c}城市建设投资集团有限公司", "eng"),
    ("university", "{c}职业技术学院", "edu"), ("hospital", "{c}市中心医院", "med"),
    ("soe", "{c}水务集团有限公司", "water"), ("university", "{c}学院", "edu"),
    ("hospital", "{c}市中医医院", "med"), ("soe", "国网{c}供电公司", "power"),
    ("soe", "{c}交通发展投资集团有限公司", "road"), ("hospital", "{c}市妇幼保健院", "med"),
    ("university", "{c}理工学院", "edu"), ("hospital", "{c}市第二人民医院", "med"),
)
PUBLIC_KINDS: dict[str, OrgKind] = {
    "bureau": OrgKind(0, 0.15, (), ("A09", "C01", "C04")),
    "soe": OrgKind(0, 2.0, (), ("A01", "A08", "A07", "A09", "A03")),
    "hospital": OrgKind(0, 4.0, (), ("B02", "B02", "C06", "B03")),
    "university": OrgKind(0, 6.0, (), ("A01", "A02", "A08", "B01", "B04", "C02", "C04", "C05", "C07")),
}
RETIRED_GROUPS = ("A01", "A08", "A09", "A02", "B01", "B02", "C04", "C01")


@dataclass(frozen=True, slots=True)
class ProjectKind:
    """A kind of project on the day: procedures, need codes (first = most common), who tenders and bids."""

    weight: float
    procedures: tuple[str, ...]
    primary: tuple[str, ...]
    secondary: tuple[str, ...]
    tenderer_tags: tuple[str, ...]
    bidder_kinds: tuple[str, ...]
    objects: tuple[str, ...]


ENG, GPT, GPN = "engineering_tender", "gp_tender", "gp_negotiation"
PROJECT_KINDS: dict[str, ProjectKind] = {
    "building": ProjectKind(10, (ENG,), ("A01", "A0101"), ("A09", "A0901", "A05"), ("eng", "edu", "med"),
                            ("contractor",), ("综合楼新建工程施工", "业务用房改造工程施工",
                                              "老旧小区改造工程施工", "保障性住房项目施工总承包")),
    "road": ProjectKind(9, (ENG,), ("A08", "A0801", "A0803"), ("A09", "A0901"), ("road", "eng"),
                        ("contractor",), ("道路改造工程施工", "桥梁维修加固工程", "公路大中修工程施工")),
    "pipe": ProjectKind(5, (ENG,), ("A08", "A0802"), ("A09", "A05"), ("water", "eng", "city"),
                        ("contractor",), ("雨污分流改造工程", "供热管网改造工程", "老旧燃气管网更新改造工程")),
    "water": ProjectKind(4, (ENG,), ("A02",), ("A09",), ("water", "agri"), ("contractor",),
                         ("河道综合治理工程", "水库除险加固工程", "高标准农田建设项目")),
    "power": ProjectKind(3, (ENG,), ("A03",), ("A09", "A05"), ("power", "eng"), ("contractor",),
                         ("输变电工程施工", "分布式光伏发电项目EPC")),
    "garden": ProjectKind(3, (ENG,), ("A07",), ("A09",), ("city", "eng"), ("contractor",),
                          ("公园景观提升工程", "道路绿化提升工程")),
    "supervision": ProjectKind(3, (ENG,), ("A09", "A0902"), ("A01", "A08"), ("eng", "road", "edu"),
                               ("consult",), ("工程监理服务", "全过程工程咨询服务")),
    "it_goods": ProjectKind(6, (GPT, GPN), ("B01", "B0101"), ("C04", "C02"),
                            ("it", "police", "edu", "office"), ("supplier",),
                            ("信息化设备采购项目", "网络安全设备采购项目", "视频监控系统采购项目")),
    "medical": ProjectKind(6, (GPT, GPN), ("B02", "B0201", "B0202"), ("C04",), ("med",), ("supplier",),
                           ("CT设备采购项目", "检验分析仪器采购项目", "医用耗材采购项目")),
    "furniture": ProjectKind(3, (GPT, GPN), ("B03",), ("C04",), ("edu", "office"), ("supplier",),
                             ("办公家具采购项目", "学生课桌椅采购项目")),
    "lab": ProjectKind(3, (GPT, GPN), ("B04",), ("C04",), ("edu",), ("supplier",),
                       ("实验室设备采购项目", "教学设备采购项目")),
    "vehicle": ProjectKind(2, (GPT, GPN), ("B05",), ("C04",), ("police", "city", "env"), ("supplier",),
                           ("执法执勤车辆采购项目", "环卫车辆采购项目")),
    "electric": ProjectKind(2, (GPT, GPN), ("B06",), ("C04",), ("city", "eng"), ("supplier",),
                            ("路灯节能改造设备采购项目",)),
    "property": ProjectKind(4, (GPT, GPN), ("C03", "C0301"), ("C04",), ("med", "office", "edu"), ("service",),
                            ("物业管理服务采购项目", "食堂餐饮服务采购项目")),
    "software": ProjectKind(4, (GPT, GPN), ("C02", "C0201"), ("B01", "C04"), ("it", "police"),
                            ("service", "supplier"), ("政务服务平台建设项目", "信息系统运维服务采购项目")),
    "audit": ProjectKind(3, (GPT, GPN), ("C04", "C0401"), ("C01",), ("fin", "dev"), ("service", "consult"),
                         ("预算绩效评价服务采购项目", "审计服务采购项目")),
    "planning": ProjectKind(2, (GPT, GPN), ("C05",), ("C01",), ("plan",), ("design", "service"),
                            ("国土空间规划编制项目", "不动产测绘服务采购项目")),
    "environment": ProjectKind(3, (GPT, GPN), ("C07",), ("C04",), ("env", "city"), ("service",),
                               ("环境卫生保洁服务采购项目", "环境监测服务采购项目")),
}

# Sites: short ids by region code (first letters of the pinyin, disambiguated where two cities collide).
SITE_IDS: dict[str, str] = {
    "370100": "JN", "370113": "CQ", "370114": "ZQ", "370115": "JY", "370116": "LW", "370117": "GC",
    "370124": "PY", "370126": "SH", "370171": "GX", "370200": "QD", "370300": "ZB", "370400": "ZZ",
    "370500": "DY", "370600": "YT", "370700": "WF", "370800": "JNG", "370900": "TA", "371000": "WH",
    "371100": "RZ", "371300": "LY", "371400": "DZ", "371500": "LC", "371600": "BZ", "371700": "HZ",
    "620100": "LZ", "610100": "XA", "520100": "GY", "410184": "XZ", "410100": "ZHZ", "411100": "LH",
    "510100": "CD", "511700": "DZH", "630100": "XN", "210200": "DL", "500000": "CQG", "430100": "CS",
    "320200": "WX", "440800": "ZJ",
}
INACTIVE_SITES = frozenset({"370117"})  # 钢城: closed for refurbishment in the demo
# Relative expert numbers within each class of region (main/districts, prefectures, partners).
REGION_WEIGHTS: dict[str, float] = {
    "370100": 25, "370102": 15, "370112": 15, "370171": 10, "370113": 6, "370114": 8, "370115": 4,
    "370116": 8, "370117": 2, "370124": 3, "370126": 4,
    "370200": 14, "370300": 6, "370400": 4, "370500": 3, "370600": 9, "370700": 10, "370800": 9,
    "370900": 5, "371000": 3, "371100": 3, "371300": 10, "371400": 5, "371500": 5, "371600": 4, "371700": 7,
    "620100": 6, "610100": 11, "520100": 6, "410184": 3, "410100": 10, "411100": 3, "510100": 12,
    "511700": 4, "630100": 4, "210200": 8, "500000": 12, "430100": 9, "320200": 8, "440800": 4,
}
CLASS_SHARES = {"jinan": 0.25, "prefecture": 0.50, "partner": 0.25}
# Gaussian spread of homes around a region's centre (km): districts are compact, big cities sprawl.
HOME_SD_KM = {"jinan": 8.0, "prefecture": 16.0, "partner": 18.0}
PENALTY_REASONS = (
    "评标过程中未按评标办法评审", "无正当理由拒不参加评标", "私下接触投标人", "违规透露评标信息",
    "评审意见前后矛盾且拒不说明理由",
)
ROAD_NAMES = ("经十", "工业南", "奥体中", "二环东", "旅游", "新泺", "舜华", "凤凰", "春晖", "泉城", "历山", "黄河",
              "滨河", "长江", "泰山", "鲁能")


def site_name(name_zh: str, role: str) -> str:
    """Display name of a trading centre: sub-centres of Jinan are 分中心."""
    return f"{name_zh}公共资源交易{'分中心' if role == 'sub' else '中心'}"


def short_name(name_zh: str) -> str:
    """City name without its administrative suffix (济南市 → 济南, 章丘区 → 章丘, 济南高新区 → 济南高新)."""
    for suffix in ("市", "区", "县"):
        if name_zh.endswith(suffix) and len(name_zh) > 2:
            return name_zh[: -len(suffix)]
    return name_zh


# First-level groups (A08 …) and their leaves, the unit of an expert's field of work.
GROUPS: dict[str, list[str]] = {}
for _code in SPECIALTIES:
    GROUPS.setdefault(_code[:3], []).append(_code)
