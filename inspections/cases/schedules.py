"""Beat entries of the cases area (written by :func:`inspections.common.schedules.ensure`)."""

from inspections.common.schedules import PeriodicEntry

ENTRIES = [
    PeriodicEntry(
        name="cases: escalate overdue cases",
        task="inspections.cases.escalate_overdue",
        minute="7",
        hour="*",
        expires=3000,
    ),
    PeriodicEntry(
        name="cases: email the notices still owed (交办, 督办)",
        task="inspections.cases.send_owed_notifications",
        minute="*/10",
        hour="*",
        expires=500,
        description="Email the 交办 and escalation notices whose own send never ran (the broker was down).",
    ),
    PeriodicEntry(
        name="cases: draw look-back visits",
        task="inspections.cases.schedule_look_backs",
        minute="20",
        hour="1",
        expires=3000,
    ),
    PeriodicEntry(
        name="cases: anchor the case history outside the database",
        task="inspections.cases.anchor_history",
        minute="50",
        hour="0",
        expires=6 * 3600,
        description="Write the signed chain heads of every case to QINGSHAN_LEDGER_ANCHOR_DIR.",
    ),
    PeriodicEntry(
        name="cases: remove old problem ledger exports",
        task="inspections.cases.purge_exports",
        minute="35",
        hour="2",
        expires=6 * 3600,
        description="Remove the 问题台账 asked for more than QINGSHAN_LEDGER_EXPORT_KEEP_DAYS ago.",
    ),
    PeriodicEntry(
        name="cases: climb the 督办 ladder (提醒, 督办单)",
        task="inspections.cases.climb_ladder",
        minute="12",
        hour="*",
        expires=3000,
        description="Remind responsible units of near deadlines; issue the 督办单 of overdue problems.",
    ),
    PeriodicEntry(
        name="cases: compile the monthly bulletins (通报)",
        task="inspections.cases.compile_bulletins",
        minute="40",
        hour="2",
        expires=12 * 3600,
        description="Compile each jurisdiction's bulletin of the last complete month, once.",
    ),
]
