"""Every word of the report page, in Chinese (the default for an agency) and English.

``TEXT`` holds the page's own labels and explanations by key, as (Chinese, English); ``{name}`` fields are filled by
the page. ``VALUES`` translates the data's own words (statuses, methods, notice kinds, flag kinds) where a chart shows
them; a value not listed (a source's name, a county) is shown as it is. A new section adds its keys here.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}

TEXT: dict[str, tuple[str, str]] = {
    "language": ("中文", "English"),
    "page_title": ("第 {round_id} 轮静默认证报告", "silentcert round {round_id}"),
    "heading": ("第 {round_id} 轮 — 静默认证", "Round {round_id} — silent certification"),
    "as_of": ("基准日 {as_of}", "as of {as_of}"),
    "pensioners": ("待遇领取人员", "pensioners"),
    "certified": ("已认证", "certified"),
    "certification_rate": ("认证率", "certification rate"),
    "change": ("较上一轮", "change"),
    "change_points": ("{points:+.2f} 个百分点（较上一轮）", "{points:+.2f} points vs previous round"),
    "no_previous": ("无上一轮", "no previous round"),
    "overpayment_flags": ("疑点涉及多发金额", "overpayment in all flags"),
    "overpayment_confirmed": ("其中已确认死亡", "of which confirmed deaths"),
    "overpayment_note": (
        "“疑点涉及多发金额”是本轮所有疑点（已确认死亡、未确认死亡、死亡后仍有活动、共用号码团伙等）估算的多发待遇之和，"
        "其中只有已确认死亡的部分（¥{confirmed}，即控制台 deathcheck 一行的 overpayment_confirmed）可以直接追回；"
        "其余金额待复核后才能确定。",
        "“Overpayment in all flags” adds the pension estimated as overpaid on every flag of the round (confirmed and "
        "unconfirmed deaths, activity after death, rings sharing an identifier). Only the confirmed deaths’ part "
        "(¥{confirmed}, the console’s overpayment_confirmed on the deathcheck line) can be recovered as it stands; "
        "the rest is settled by review."),
    "weak_evidence": ("弱证据（阈值 {threshold:.2f}，上限 {ceiling:.2f} 对数几率）",
                      "weak evidence (threshold {threshold:.2f}, ceiling {ceiling:.2f} log-odds)"),
    "weak_can_certify": ("可以认证", "can certify"),
    "weak_certifies_nobody": ("无法认证任何人", "certifies nobody"),
    "weak_note": (
        "弱证据（如消费、门诊、通信、公交、银行）按各来源的似然比相加；只有当某种组合能超过阈值时才能单独认证。"
        "若亲属使用已故者的卡和电话使上限达不到阈值，弱证据本轮不认证任何人。",
        "Weak evidence (such as card spending, outpatient visits, telecom, bus rides) adds up each source's "
        "likelihood ratio; it certifies on its own only when some combination can pass the threshold. When relatives' "
        "use of the dead's card and phone keeps the ceiling below it, weak evidence certifies nobody this round."),
    "channels": ("已认证人员的认证渠道", "Channel split of certified pensioners"),
    "carried_note": (
        "“沿用”：登记表中的认证有效期（certified_until）在基准日仍然有效，本轮无需新证据。"
        "第一轮的有效期来自登记表文件本身，而不是此前的 silentcert 轮次。",
        "“carried”: the certification period in the registry (certified_until) is still valid on the as-of date, so "
        "the round needs no new evidence. On a first round these periods come from the registry file itself, not "
        "from an earlier silentcert round."),
    "silent_sources": ("各来源的静默认证", "Silent certifications by source"),
    "status": ("认证状态", "Status"),
    "period_states": ("认证期状态", "Period states"),
    "counties": ("各区县认证率", "Certification rate by county"),
    "counties_note": ("蓝色 ≥ 95%，橙色 ≥ 90%，红色 < 90%。", "Blue ≥ 95%, orange ≥ 90%, red < 90%."),
    "county_tip": ("{county}：{total} 人中 {certified} 人已认证", "{county}: {certified} of {total} certified"),
    "notices": ("通知（类型 / 渠道）", "Notices by kind and channel"),
    "flags": ("疑点（类型 / 严重程度）", "Flags by kind and severity"),
    "flags_header": ("类型 / 严重程度|疑点数|多发金额 ¥", "kind / severity|flags|overpayment ¥"),
    "link_rate": ("各来源的匹配情况", "Linkage per source"),
    "link_rate_header": ("来源|已匹配|待复核|未匹配|已拒收|输入行数",
                         "source|linked|review band|unlinked|rejected|input rows"),
    "link_rate_note": (
        "每一行输入恰好出现在 links.csv 或 rejects.csv 中的一处：已匹配 + 待复核 + 未匹配 + 已拒收 = 输入行数。",
        "Every input row is in exactly one of links.csv and rejects.csv: linked + review band + unlinked + rejected "
        "= input rows."),
    "probability_histogram": ("匹配概率分布", "Link probability histogram"),
    "rejects": ("拒收原因", "Rejects by reason"),
    "rejects_header": ("来源：原因|行数", "source: reason|rows"),
    "payments": ("待遇发放", "Payments"),
    "payments_header": ("变动|人数|金额 ¥|金额含义", "change|people|¥|amount is"),
    "payments_note": (
        "暂停：本轮认证期失效而停发；恢复：此前暂停的人员重新认证（或复核撤销误判死亡），补发暂停期间的待遇；"
        "终止：确认死亡，追回死亡后多发的待遇。明细见 payments.csv。",
        "Suspended: payment held because the certification period lapsed this round; restored: someone suspended "
        "earlier is certified again (or a reviewer cleared a false death) and the months held are paid as arrears; "
        "stopped: a confirmed death, with the pension paid after it to recover. Each person's row is in payments.csv."),
    "lapse_forecast": ("到期未认证风险预测", "Lapse forecast"),
    "lapse_forecast_header": ("到期前无新证据的概率|人数|60 天内到期|120 天内到期|已发提醒|预计到期未认证人数",
                              "P(no new evidence before the end)|people|ending within 60 days|within 120 days|"
                              "reminded|expected lapses"),
    "lapse_forecast_note": (
        "按每人各来源过去一年的记录频率和规律、以及本轮人群中记录中断的比例，估算其认证期到期前不再出现静默证据的概率；"
        "概率高的人在进入 60 天到期窗口之前（最早 120 天）就会收到提醒，提醒按该概率从高到低排序发送。明细见 forecast.csv。",
        "For each person with a valid period, the chance that no silent evidence arrives before it ends, from how "
        "often and how regularly each of their sources saw them over the past year and how often people's evidence "
        "stops altogether this round. The likely lapsers are reminded before the 60-day expiring window (up to 120 "
        "days ahead), and reminders are sent in order of that chance. Each person's row is in forecast.csv."),
    "not_computed": ("未计算", "not computed"),
    "duplicates": ("重复账户", "Duplicate accounts"),
    "duplicates_header": ("另一账户所在|对数|两边都在领取|重复发放 ¥", "other account in|pairs|both paid|paid twice ¥"),
    "duplicates_note": (
        "同一人持有两个养老金账户（本登记表内，或另一险种、邻省名单中）：每对账户在两边各有一条 duplicate_account 疑点，"
        "重复发放金额单独统计，不计入上面的多发金额。",
        "One person holding two pension accounts (inside this registry, or in another scheme's or a neighbouring "
        "province's list): each pair is a duplicate_account flag on both accounts; the money paid twice is counted "
        "here, not in the overpayment figures above."),
    "operating_points": ("弱证据：不同阈值下的取舍", "Weak evidence: operating points"),
    "operating_points_header": ("弱证据阈值（对数几率）|已认证（无死亡记录）|其中仅凭弱证据|已标注死亡人员在死后被认证",
                                "weak threshold (log-odds)|certified, no death record|of them only by weak evidence|"
                                "labelled dead certified after death"),
    "operating_points_note": (
        "日期为 D 的弱证据认证只依据 D 当天及以后的记录；最后一列是已标注死亡人员仅凭其死后记录可达到的结果。"
        "运营方可调整的参数是 <code>[liveness] max_dead_certified</code>。",
        "A weak certification dated D rests only on records dated on or after D; the labelled dead's column is what "
        "their post-death records alone would reach. The operator's knob is <code>[liveness] max_dead_certified</code>."),
    "this_round": ("本轮", "this round"),
    "of_whole": ("{whole} 人中 {part} 人", "{part} of {whole}"),
    "none": ("无", "none"),
}

VALUES: dict[str, tuple[str, str]] = {
    # verdict status and method (docs/contract.md section 3)
    "certified": ("已认证", "certified"), "uncertified": ("未认证", "uncertified"),
    "deceased": ("已故", "deceased"), "review": ("待复核", "review"),
    "silent strong": ("静默·强证据", "silent strong"), "silent weak": ("静默·弱证据", "silent weak"),
    "carried": ("沿用", "carried"), "face": ("人脸识别", "face"), "in_person": ("现场认证", "in person"),
    "none": ("无", "none"),
    # period states
    "valid": ("有效", "valid"), "expiring": ("即将到期", "expiring"), "ended": ("已到期", "ended"),
    "suspended": ("已暂停", "suspended"), "overdue": ("逾期", "overdue"),
    # notices
    "exempt": ("免认证", "exempt"), "reminder": ("提醒", "reminder"), "sms": ("短信", "sms"),
    "letter": ("信件", "letter"), "unit": ("单位", "unit"),
    # flags
    "confirmed_death": ("已确认死亡", "confirmed death"), "unconfirmed_death": ("未确认死亡", "unconfirmed death"),
    "activity_after_death": ("死亡后仍有活动", "activity after death"),
    "weak_activity_after_death": ("死亡后仍有弱活动", "weak activity after death"),
    "register_disagreement": ("死亡登记不一致", "register disagreement"),
    "shared_identifier_ring": ("共用号码团伙", "shared identifier ring"), "home_visit": ("上门核查", "home visit"),
    "critical": ("紧急", "critical"), "high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low"),
    "unknown": ("未知", "unknown"),
    "this registry": ("本登记表", "this registry"), "duplicate_account": ("重复账户", "duplicate account"),
    # payments (payments.csv)
    "suspended this round": ("本轮暂停", "suspended this round"),
    "restored this round": ("本轮恢复", "restored this round"),
    "stopped at death": ("死亡终止", "stopped at death"), "held after the round": ("本轮后仍暂停", "held after the round"),
    "monthly pensions": ("月待遇合计", "monthly pensions"), "arrears paid": ("补发金额", "arrears paid"),
    "overpayment to recover": ("应追回多发金额", "overpayment to recover"),
}
