"""factory_boy factories for the domain: divisions built by code, users with roles."""

from __future__ import annotations

from typing import Any, cast

import factory
from django.contrib.auth.models import Group

from inspections.accounts.models import Inspector, Role, User
from inspections.checklist.models import ProblemCategory
from villages.models import Division, Village, village_kind_for


def division(code: str, name: str | None = None) -> Division:
    """The division with this code, creating it and its ancestors as needed."""
    level = {2: 1, 4: 2, 6: 3, 9: 4}[len(code)]
    parent = None
    if level > 1:
        parent = division(code[: {2: 0, 4: 2, 6: 4, 9: 6}[len(code)]])
    obj, _ = Division.objects.get_or_create(
        code=code, defaults={"name": name or f"区划{code}", "level": level, "parent": parent}
    )
    return obj


def village(code: str, name: str | None = None, **fields: object) -> Village:
    name = name or f"村{code}"
    obj, _ = Village.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "township": division(code[:9]),
            "kind": village_kind_for(code, name),
            **fields,
        },
    )
    return obj


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-only")

    @factory.post_generation
    def role(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            group, _ = Group.objects.get_or_create(name=extracted)
            obj.groups.add(group)


def user(**kwargs: Any) -> User:
    return cast(User, UserFactory(**kwargs))


def supervisor(jurisdiction: str, **kwargs: Any) -> User:
    return user(role=Role.SUPERVISOR, jurisdiction=division(jurisdiction), is_staff=True, **kwargs)


def responsible_party(jurisdiction: str, **kwargs: Any) -> User:
    return user(role=Role.RESPONSIBLE_PARTY, jurisdiction=division(jurisdiction), **kwargs)


class InspectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inspector

    user = factory.SubFactory(UserFactory, role=Role.INSPECTOR)
    credential_number = factory.Sequence(lambda n: f"ZJ-{n:05d}")
    unit = "生态环境局"
    home_division = factory.LazyFunction(lambda: division("330502"))


class ProblemCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProblemCategory
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"category-{n}")
    name_zh_hans = factory.Sequence(lambda n: f"问题{n}")
    name_en = factory.Sequence(lambda n: f"Problem {n}")
    domain = "garbage"
    default_severity = "moderate"
    rectification_days = 10


def inspector(**kwargs: Any) -> Inspector:
    return cast(Inspector, InspectorFactory(**kwargs))
