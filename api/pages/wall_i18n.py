"""Messages of the live walls and the room camera page (Simplified Chinese first, English), registered at import."""

from __future__ import annotations

from api import i18n

MESSAGES: dict[str, dict[str, str]] = {
    # The room camera page (/terminal/stream)
    "stream.title": {"zh": "会议室摄像 {room}", "en": "Room camera {room}"},
    "stream.intro": {"zh": "本页面将本会议室的摄像头和麦克风实时推送到监控中心（WHIP）。请保持本页面打开。",
                     "en": "This page sends the room's camera and microphone live to the monitoring centre (WHIP). "
                           "Keep it open."},
    "stream.start": {"zh": "开始推流", "en": "Start publishing"},
    "stream.stop": {"zh": "停止推流", "en": "Stop publishing"},
    "stream.state.starting": {"zh": "正在连接…", "en": "Connecting…"},
    "stream.state.publishing": {"zh": "正在推流", "en": "Publishing"},
    "stream.state.reconnecting": {"zh": "连接中断，正在重连…", "en": "Connection lost, reconnecting…"},
    "stream.state.stopped": {"zh": "已停止", "en": "Stopped"},
    "stream.camera.denied": {"zh": "无法使用摄像头或麦克风：请允许浏览器访问。",
                             "en": "The camera or microphone may not be used: allow the browser to access them."},
    "stream.camera.absent": {"zh": "未找到摄像头或麦克风。", "en": "No camera or microphone found."},
    "stream.retry_in": {"zh": "{seconds} 秒后重试", "en": "retrying in {seconds} s"},
    "stream.noscript": {"zh": "推流需要启用 JavaScript。", "en": "Publishing needs JavaScript."},
    # The walls
    "wall.project.title": {"zh": "项目 {code} 实时监控墙", "en": "Live wall of project {code}"},
    "wall.site.title": {"zh": "场地 {code} 实时监控墙（{day}）", "en": "Live wall of site {code} ({day})"},
    "wall.day": {"zh": "日期", "en": "Day"},
    "wall.show": {"zh": "显示", "en": "Show"},
    "wall.none": {"zh": "没有会议室（尚无抽取结果或当天没有评标）。",
                  "en": "No rooms (nothing drawn yet, or no evaluation that day)."},
    "wall.sealed": {"zh": "评标开始前名单保密：仅显示人数。", "en": "Sealed until the start: counts only."},
    "wall.main": {"zh": "主场", "en": "Main site"},
    "wall.aux": {"zh": "副场", "en": "Auxiliary site"},
    "wall.out_of_scope": {"zh": "该场地不在您的管辖范围内，无法观看。",
                          "en": "This site is outside your scope: it cannot be watched here."},
    "wall.state.connecting": {"zh": "正在连接…", "en": "Connecting…"},
    "wall.state.live": {"zh": "直播中", "en": "Live"},
    "wall.state.waiting": {"zh": "会议室尚未推流，稍后自动重试", "en": "The room is not publishing yet; retrying"},
    "wall.state.stalled": {"zh": "画面中断", "en": "Stream stopped"},
    "wall.state.error": {"zh": "无法观看（{status}）", "en": "Cannot watch ({status})"},
    "wall.unmute": {"zh": "开启声音", "en": "Unmute"},
    "wall.mute": {"zh": "静音", "en": "Mute"},
    "wall.recording": {"zh": "录像中", "en": "Recording"},
    "wall.viewers": {"zh": "{n} 人观看", "en": "{n} watching"},
    "wall.counts": {"zh": "签到 {checked_in}/{seats} · 签署 {signed_off}",
                    "en": "Checked in {checked_in}/{seats} · signed {signed_off}"},
    "wall.events": {"zh": "最近事件", "en": "Recent events"},
    "wall.no_events": {"zh": "暂无事件", "en": "No events yet"},
    "wall.event.alert.no_frames": {"zh": "画面中断（无视频帧）", "en": "Stream stopped (no frames)"},
    "wall.event.alert.connection_failed": {"zh": "推流连接失败", "en": "Publisher connection failed"},
    "wall.event.checkin": {"zh": "{name} 已签到", "en": "{name} checked in"},
    "wall.event.publishing": {"zh": "开始推流", "en": "Publishing started"},
    "wall.event.unpublished": {"zh": "推流结束", "en": "Publishing ended"},
    "wall.bad_day": {"zh": "日期无效，请使用 YYYY-MM-DD 格式。", "en": "Invalid day: use YYYY-MM-DD."},
}

i18n.register(MESSAGES)
