"""What each role may do: the permissions its group carries.

Row-level scope (which divisions, which inspections) is not a permission: it
comes from the account's jurisdiction or inspector profile, in selectors.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from inspections.accounts.models import Role

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.INSPECTOR: [
        "villages.view_village",
        "inspections.view_problemcategory",
    ],
    Role.SUPERVISOR: [
        "villages.view_division",
        "villages.view_village",
        "villages.change_village",
        "inspections.view_problemcategory",
        "inspections.view_inspector",
        # cases to closure
        "inspections.view_case",
        "inspections.change_case",
        "inspections.view_caseevent",
        "inspections.view_rectification",
        "inspections.view_followup",
        "inspections.view_casenotification",
        "inspections.change_casenotification",
        "inspections.view_typicalcase",
        "inspections.add_typicalcase",
        "inspections.change_typicalcase",
        "inspections.view_publication",
        "inspections.add_publication",
        "inspections.change_publication",
        "inspections.view_deadlinerule",
        "inspections.view_extensionrequest",
        "inspections.change_extensionrequest",
        "inspections.view_reviewpolicy",
        "inspections.view_department",
        "inspections.view_casestage",
        "inspections.add_reviewpolicy",
        "inspections.change_reviewpolicy",
        # the 督办 ladder: steps issued, bulletins (通报), summonses (约谈), referrals (问责)
        "inspections.view_ladderstep",
        "inspections.view_bulletin",
        "inspections.change_bulletin",
        "inspections.view_summons",
        "inspections.add_summons",
        "inspections.change_summons",
        "inspections.view_referral",
        "inspections.add_referral",
        "inspections.change_referral",
        "inspections.view_holidayyear",
        "inspections.view_holidaydate",
        "inspections.add_samplingplan",
        "inspections.change_samplingplan",
        "inspections.view_samplingplan",
        "inspections.delete_samplingplan",
        "inspections.view_embargoaccesslog",
        "inspections.view_keyvillage",
        "inspections.add_keyvillage",
        "inspections.change_keyvillage",
        "inspections.delete_keyvillage",
        "inspections.add_targetedvisit",
        "inspections.view_targetedvisit",
        "inspections.view_complaint",
        # digests
        "inspections.receive_digest",
        "inspections.view_digestsend",
        "inspections.view_digestsubscription",
        "inspections.add_digestsubscription",
        "inspections.change_digestsubscription",
    ],
    Role.RESPONSIBLE_PARTY: [
        "villages.view_village",
        "inspections.view_problemcategory",
    ],
    # Usually held with the supervisor role: whoever takes the hotline's tickets.
    Role.COMPLAINT_INTAKE: [
        "villages.view_village",
        "inspections.view_complaint",
        "inspections.add_complaint",
        "inspections.change_complaint",
    ],
}


def sync_role_groups() -> None:
    """Create the role groups and give each exactly its permissions."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
