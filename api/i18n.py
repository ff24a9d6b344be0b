"""Messages of the web console in Simplified Chinese (default) and English.

Templates call `t("key", **values)`; a key missing in English falls back to Chinese, a key missing
in both shows the key itself (so a typo is visible on the page, never an error).
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

MESSAGES: dict[str, dict[str, str]] = {
    "app.name": {"zh": "异地评标调度", "en": "Yidi remote evaluation"},
    "nav.calendar": {"zh": "日历", "en": "Calendar"},
    "nav.rooms": {"zh": "座位图", "en": "Seat map"},
    "nav.stats": {"zh": "统计", "en": "Statistics"},
    "nav.sites": {"zh": "场地", "en": "Sites"},
    "nav.experts": {"zh": "专家", "en": "Experts"},
    "nav.users": {"zh": "用户", "en": "Users"},
    "nav.logout": {"zh": "退出", "en": "Log out"},
    "nav.language": {"zh": "English", "en": "中文"},
    "role.admin": {"zh": "管理员", "en": "admin"},
    "role.coordinator": {"zh": "协调员", "en": "coordinator"},
    "role.supervisor": {"zh": "监督员", "en": "supervisor"},
    "role.expert": {"zh": "专家", "en": "expert"},
    "role.terminal": {"zh": "终端", "en": "terminal"},
    "login.title": {"zh": "登录", "en": "Log in"},
    "login.username": {"zh": "用户名", "en": "User name"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Log in"},
    "login.failed": {"zh": "用户名或密码错误。", "en": "Wrong user name or password."},
    "login.locked": {"zh": "账户已被暂时锁定，请稍后再试。", "en": "This account is locked for now; try again later."},
    "login.no_console": {"zh": "此账户无权使用管理控制台。", "en": "This account may not use the console."},
    "error.title": {"zh": "出错了", "en": "Error"},
    "error.403": {"zh": "无权访问。", "en": "You may not do this."},
    "error.404": {"zh": "未找到。", "en": "Not found."},
    "error.csrf": {"zh": "表单已过期或无效，请返回并重试。",
                   "en": "The form has expired or is invalid; go back and retry."},
    "error.422": {"zh": "输入无效：{field}", "en": "Invalid input: {field}"},
    "error.back": {"zh": "返回首页", "en": "Back to the start page"},
    "calendar.title": {"zh": "{year}年{month}月 评标项目", "en": "Evaluations in {month_name} {year}"},
    "calendar.prev": {"zh": "上月", "en": "Previous month"},
    "calendar.next": {"zh": "下月", "en": "Next month"},
    "calendar.none": {"zh": "本月没有您范围内的项目。", "en": "No project in your scope this month."},
    "calendar.count": {"zh": "本月 {n} 个项目", "en": "{n} projects this month"},
    "weekday.0": {"zh": "一", "en": "Mon"}, "weekday.1": {"zh": "二", "en": "Tue"},
    "weekday.2": {"zh": "三", "en": "Wed"}, "weekday.3": {"zh": "四", "en": "Thu"},
    "weekday.4": {"zh": "五", "en": "Fri"}, "weekday.5": {"zh": "六", "en": "Sat"},
    "weekday.6": {"zh": "日", "en": "Sun"},
    "status.planned": {"zh": "待抽取", "en": "planned"},
    "status.drawn": {"zh": "已抽取", "en": "drawn"},
    "status.infeasible": {"zh": "无法满足", "en": "infeasible"},
    "status.cancelled": {"zh": "已取消", "en": "cancelled"},
    "status.closed": {"zh": "已结束", "en": "closed"},
    "status.committed": {"zh": "已承诺种子", "en": "seed committed"},
    "status.revealed": {"zh": "已解封", "en": "unsealed"},
    "project.title": {"zh": "项目 {code}", "en": "Project {code}"},
    "project.name": {"zh": "名称", "en": "Name"},
    "project.procedure": {"zh": "采购方式", "en": "Procedure"},
    "project.budget": {"zh": "预算（元）", "en": "Budget (CNY)"},
    "project.time": {"zh": "评标时间", "en": "Evaluation time"},
    "project.size": {"zh": "评委会人数", "en": "Committee size"},
    "project.representatives": {"zh": "业主代表", "en": "Tenderer's representatives"},
    "project.main_site": {"zh": "主场", "en": "Main site"},
    "project.aux_sites": {"zh": "副场", "en": "Auxiliary sites"},
    "project.aux_random": {"zh": "由抽取决定", "en": "chosen by the draw"},
    "project.needs": {"zh": "专业需求", "en": "Specialty needs"},
    "project.status": {"zh": "状态", "en": "Status"},
    "project.bidders": {"zh": "投标人数量", "en": "Bidders"},
    "draw.heading": {"zh": "专家抽取", "en": "Expert draw"},
    "draw.prepare": {"zh": "准备抽取（公布种子承诺）", "en": "Prepare draw (publish the seed commitment)"},
    "draw.prepare_help": {"zh": "先公布随机种子的 SHA-256 承诺，再执行抽取；揭晓后任何人可核验。",
                          "en": "The SHA-256 commitment of the random seed is published first, then the draw "
                                "runs; after the reveal anyone can check it."},
    "draw.commitment": {"zh": "种子承诺（SHA-256）", "en": "Seed commitment (SHA-256)"},
    "draw.run": {"zh": "执行抽取", "en": "Run draw"},
    "draw.id": {"zh": "抽取编号", "en": "Draw"},
    "draw.result_hash": {"zh": "结果哈希", "en": "Result hash"},
    "draw.instance_hash": {"zh": "实例哈希", "en": "Instance hash"},
    "draw.seed": {"zh": "种子（已公开）", "en": "Seed (published)"},
    "draw.sealed": {"zh": "评委名单已加密封存，评标开始前仅显示各场地人数。",
                    "en": "The committee is sealed: until the evaluation starts only seat counts per site are shown."},
    "draw.site": {"zh": "场地", "en": "Site"},
    "draw.seats": {"zh": "席位数", "en": "Seats"},
    "draw.sampling": {"zh": "抽样方式", "en": "Sampling"},
    "draw.warnings": {"zh": "可预测性警告", "en": "Predictability warnings"},
    "draw.unmet": {"zh": "未满足的需求", "en": "Unmet needs"},
    "draw.unseal": {"zh": "解封评委名单", "en": "Unseal the committee"},
    "draw.unseal_wait": {"zh": "评标开始（{start}）后方可解封。", "en": "It can be unsealed once the evaluation "
                                                                       "starts ({start})."},
    "draw.still_sealed": {"zh": "评标尚未开始，名单仍须封存。", "en": "The evaluation has not started: the committee "
                                                                   "stays sealed."},
    "draw.committee": {"zh": "评委会", "en": "Committee"},
    "draw.room": {"zh": "评标室", "en": "Room"},
    "draw.expert_code": {"zh": "专家编号", "en": "Expert code"},
    "draw.expert_name": {"zh": "姓名", "en": "Name"},
    "draw.need": {"zh": "专业", "en": "Specialty"},
    "draw.replace": {"zh": "替换专家", "en": "Replace an expert"},
    "draw.reason": {"zh": "原因", "en": "Reason"},
    "draw.replace_submit": {"zh": "替换", "en": "Replace"},
    "draw.replaced": {"zh": "已替换：{old} → {new}", "en": "Replaced: {old} → {new}"},
    "draw.failed": {"zh": "操作失败：{msg}", "en": "Failed: {msg}"},
    "draw.none": {"zh": "尚未抽取。", "en": "Not drawn yet."},
    "reason.declined": {"zh": "拒绝参加", "en": "declined"},
    "reason.failed_check_in": {"zh": "签到失败", "en": "failed check-in"},
    "reason.stepped_aside": {"zh": "主动回避", "en": "stepped aside"},
    "reason.conflict": {"zh": "利益冲突", "en": "conflict of interest"},
    "reason.site_closed": {"zh": "场地关闭", "en": "site closed"},
    "rooms.title": {"zh": "{site} {date} 座位图", "en": "Seat map of {site} on {date}"},
    "rooms.date": {"zh": "日期", "en": "Date"},
    "rooms.site": {"zh": "场地", "en": "Site"},
    "rooms.show": {"zh": "查看", "en": "Show"},
    "rooms.capacity": {"zh": "{n} 个座位", "en": "{n} seats"},
    "rooms.free": {"zh": "空闲", "en": "free"},
    "rooms.none": {"zh": "该场地没有评标室。", "en": "This site has no rooms."},
    "rooms.occupancy": {"zh": "{project}：{n} 席（{start}–{end}）", "en": "{project}: {n} seats ({start}–{end})"},
    "stats.title": {"zh": "统计概览", "en": "Statistics"},
    "stats.per_period": {"zh": "各时段项目数", "en": "Projects per period"},
    "stats.per_site": {"zh": "各场地参与席位数", "en": "Seats per site"},
    "stats.per_kind": {"zh": "按场地类型（分中心、合作方等）的参与",
                       "en": "Participation by kind of site (sub-centres, partners …)"},
    "stats.cross_region": {"zh": "跨区域评标占比", "en": "Cross-region share"},
    "stats.cross_region_text": {"zh": "已解封席位中 {n}/{total} 位专家来自项目所在地市以外（{pct}%）",
                                "en": "{n} of {total} unsealed seats are held by experts from outside the project's "
                                      "prefecture ({pct}%)"},
    "stats.cross_none": {"zh": "尚无已解封的评委会。", "en": "No unsealed committee yet."},
    "stats.sealed_seats": {"zh": "（另有 {n} 个席位仍封存，不计入）",
                           "en": "({n} more seats are still sealed and not counted)"},
    "stats.totals": {"zh": "项目 {projects} 个，已抽取 {drawn} 个，无法满足 {infeasible} 个",
                     "en": "{projects} projects, {drawn} drawn, {infeasible} infeasible"},
    "stats.from": {"zh": "起始", "en": "From"},
    "stats.to": {"zh": "截止（不含）", "en": "To (exclusive)"},
    "stats.group": {"zh": "分组", "en": "Group by"},
    "stats.group.day": {"zh": "按日", "en": "day"},
    "stats.group.week": {"zh": "按周", "en": "week"},
    "stats.group.month": {"zh": "按月", "en": "month"},
    "stats.empty": {"zh": "暂无数据。", "en": "No data yet."},
    "kind.main_centre": {"zh": "主中心", "en": "main centre"},
    "kind.sub_centre": {"zh": "分中心", "en": "sub-centre"},
    "kind.centre": {"zh": "交易中心", "en": "centre"},
    "kind.partner": {"zh": "合作方", "en": "partner"},
    "sites.title": {"zh": "场地与评标室", "en": "Sites and rooms"},
    "sites.code": {"zh": "编号", "en": "Code"},
    "sites.name": {"zh": "名称", "en": "Name"},
    "sites.kind": {"zh": "类型", "en": "Kind"},
    "sites.active": {"zh": "启用", "en": "Active"},
    "sites.rooms": {"zh": "评标室（座位）", "en": "Rooms (seats)"},
    "experts.title": {"zh": "专家库", "en": "Expert pool"},
    "experts.total": {"zh": "共 {n} 位专家", "en": "{n} experts"},
    "experts.status": {"zh": "状态", "en": "Status"},
    "experts.import": {"zh": "导入专家（CSV）", "en": "Import experts (CSV)"},
    "experts.import_submit": {"zh": "上传", "en": "Upload"},
    "experts.import_unavailable": {"zh": "导入服务尚不可用。", "en": "The import service is not available yet."},
    "users.title": {"zh": "用户", "en": "Users"},
    "users.role": {"zh": "角色", "en": "Role"},
    "users.sites": {"zh": "场地范围", "en": "Site scope"},
    "users.all_sites": {"zh": "全部场地", "en": "all sites"},
    "users.active": {"zh": "启用", "en": "Active"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
}


def translate(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` (Chinese when missing), formatted with `values`."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def translator(lang: str) -> Callable[..., str]:
    """A `t(key, **values)` function bound to one language (for templates)."""
    chosen = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def t(key: str, **values: object) -> str:
        return translate(chosen, key, **values)

    return t
