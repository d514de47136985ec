"""The demo region: Huzhou prefecture with Anji County in focus, and demo accounts.

Used by ``manage.py load_demo`` (which ``make run`` calls). Every step is
idempotent: running it again changes nothing. Development data, not a
product service: nothing in the product calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from inspections.accounts.models import Inspector, Role, User
from inspections.accounts.roles import sync_role_groups
from inspections.checklist.services import checklist_load
from villages.models import Division
from villages.services import county_point, divisions_import, villages_derive_locations

SEEDS = Path(settings.BASE_DIR) / "seeds"
DIVISIONS_FILE = SEEDS / "divisions-nbs-2023.csv.gz"
POINTS_FILE = SEEDS / "division-points-cpca.csv"
CHECKLIST_FILE = SEEDS / "problem_categories.json"

DEMO_PREFECTURE = "3305"  # 湖州市 Huzhou: Anji and the counties its inspectors come from
DEMO_COUNTY = "330523"  # 安吉县 Anji
DEMO_PASSWORD = "qingshan-demo"  # noqa: S105 - demo accounts only, printed by `make run`


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    jurisdiction: str | None
    full_name: str
    home_division: str | None = None
    credential: str | None = None


DEMO_ACCOUNTS = [
    DemoAccount("supervisor-huzhou", Role.SUPERVISOR, "3305", "湖州市督查员"),
    DemoAccount("supervisor-anji", Role.SUPERVISOR, "330523", "安吉县督查员"),
    DemoAccount("supervisor-deqing", Role.SUPERVISOR, "330521", "德清县督查员"),
    DemoAccount("responsible-tianhuangping", Role.RESPONSIBLE_PARTY, "330523108", "天荒坪镇整改责任人"),
    DemoAccount("inspector-wuxing", Role.INSPECTOR, None, "吴兴检查员", "330502", "ZJ-HZ-0001"),
    DemoAccount("inspector-nanxun", Role.INSPECTOR, None, "南浔检查员", "330503", "ZJ-HZ-0002"),
    DemoAccount("inspector-deqing", Role.INSPECTOR, None, "德清检查员", "330521", "ZJ-HZ-0003"),
    DemoAccount("inspector-changxing", Role.INSPECTOR, None, "长兴检查员", "330522", "ZJ-HZ-0004"),
    DemoAccount("inspector-anji", Role.INSPECTOR, None, "安吉检查员", "330523", "ZJ-HZ-0005"),
    DemoAccount("inspector-wuxing2", Role.INSPECTOR, None, "吴兴检查员二", "330502", "ZJ-HZ-0006"),
]


def _ensure_account(account: DemoAccount) -> User:
    divisions = {
        d.code: d for d in Division.objects.filter(code__in=[account.jurisdiction, account.home_division])
    }
    user, created = User.objects.get_or_create(
        username=account.username,
        defaults={
            "last_name": account.full_name,
            "jurisdiction": divisions.get(account.jurisdiction or ""),
            "is_staff": account.role == Role.SUPERVISOR,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=account.role))
    if account.credential and account.home_division:
        Inspector.objects.get_or_create(
            user=user,
            defaults={
                "credential_number": account.credential,
                "unit": "湖州市生态环境局",
                "home_division": divisions[account.home_division],
            },
        )
    return user


@transaction.atomic
def demo_load() -> list[str]:
    """Load the demo region, the checklist and the demo accounts; say what was done."""
    done = []
    report = divisions_import(path=DIVISIONS_FILE, prefix=DEMO_PREFECTURE)
    done.append(f"divisions {DEMO_PREFECTURE}: {report.summary()}")
    created, unchanged = checklist_load(path=CHECKLIST_FILE)
    done.append(f"checklist: {created} created, {unchanged} already there")
    located = villages_derive_locations(
        county_code=DEMO_COUNTY, origin=county_point(path=POINTS_FILE, code=DEMO_COUNTY)
    )
    done.append(f"derived locations for {located} villages of {DEMO_COUNTY}")
    sync_role_groups()
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@localhost", DEMO_PASSWORD)
    for account in DEMO_ACCOUNTS:
        _ensure_account(account)
    done.append(f"demo accounts: admin and {len(DEMO_ACCOUNTS)} others, password {DEMO_PASSWORD!r}")
    return done
