"""Messages of the operation log page (Simplified Chinese first, English), registered with api.i18n at import."""

from __future__ import annotations

from api import i18n

MESSAGES: dict[str, dict[str, str]] = {
    "nav.audit": {"zh": "操作日志", "en": "Operation log"},
    "audit.title": {"zh": "操作日志", "en": "Operation log"},
    "audit.intro": {"zh": "审计账本的每一条记录（谁、做了什么、何时），仅限您的场地范围；每次查看都会记入账本。",
                    "en": "Every entry of the audit ledger (who, what, when) in your site scope; "
                          "every view is itself recorded."},
    "audit.project": {"zh": "项目编号", "en": "Project code"},
    "audit.site": {"zh": "场地编号", "en": "Site code"},
    "audit.actor": {"zh": "操作者", "en": "Actor"},
    "audit.kind": {"zh": "类型（前缀）", "en": "Kind (prefix)"},
    "audit.since": {"zh": "起始日期", "en": "From date"},
    "audit.until": {"zh": "截止日期（含）", "en": "To date (inclusive)"},
    "audit.show": {"zh": "查询", "en": "Search"},
    "audit.reset": {"zh": "清除条件", "en": "Clear filters"},
    "audit.seq": {"zh": "序号", "en": "Seq"},
    "audit.time": {"zh": "时间", "en": "Time"},
    "audit.subject": {"zh": "对象", "en": "Subject"},
    "audit.payload": {"zh": "内容", "en": "Payload"},
    "audit.hash": {"zh": "哈希", "en": "Hash"},
    "audit.none": {"zh": "没有符合条件的记录。", "en": "No entry matches."},
    "audit.count": {"zh": "本页 {n} 条记录", "en": "{n} entries on this page"},
    "audit.next": {"zh": "下一页", "en": "Next page"},
    "audit.first": {"zh": "第一页", "en": "First page"},
    "audit.verify": {"zh": "校验哈希链", "en": "Verify the chain"},
    "audit.verify_help": {"zh": "重新计算整个账本的哈希链（与命令 yidi audit verify 相同）。",
                          "en": "Re-hash the whole ledger chain (the same check as `yidi audit verify`)."},
    "audit.verify_ok": {"zh": "账本完好：{n} 条记录链接正确。", "en": "Ledger intact: {n} entries chain correctly."},
    "audit.verify_failed": {"zh": "账本校验失败：发现 {n} 个问题，账本在写入后被改动过，请保全数据库以便调查。",
                            "en": "Ledger verification FAILED: {n} problems; the ledger was altered after it was "
                                  "written. Preserve the database for investigation."},
    "audit.head": {"zh": "链头哈希（请公布以便日后核验）", "en": "Head hash (publish it for later checks)"},
    "audit.evidence": {"zh": "导出项目 {code} 的证据包（ZIP）", "en": "Export the evidence zip of project {code}"},
    "audit.evidence_help": {"zh": "含抽取记录、开评后解封的结果、账本片段和录像分段哈希，供监管检查。",
                            "en": "Draws, the result once unsealed after the start, the ledger slice and the "
                                  "recording segment hashes, for an inspector."},
}

i18n.register(MESSAGES)
