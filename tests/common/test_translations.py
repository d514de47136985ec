"""The zh-hans catalogue is complete, compiled, and covers every model string."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation

OUR_APPS = ["villages", "inspections"]
# Each app keeps its own catalogue.
CATALOGUES = [Path(settings.BASE_DIR) / app / "locale" / "zh_Hans" / "LC_MESSAGES" for app in OUR_APPS]
# Names that are the same in every language.
TECHNICAL_TERMS = {"SHA-256", "Message-ID"}


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=OUR_APPS)
def test_every_message_is_translated_and_none_is_fuzzy(catalogue: Path) -> None:
    po = polib.pofile(str(catalogue / "django.po"))

    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=OUR_APPS)
def test_the_compiled_catalogue_matches_its_source(catalogue: Path) -> None:
    po = polib.pofile(str(catalogue / "django.po"))
    mo = polib.mofile(str(catalogue / "django.mo"))

    def pairs(catalogue: polib._BaseFile) -> set[tuple[str, str]]:
        return {
            (e.msgid, e.msgstr or e.msgstr_plural.get(0, "")) for e in catalogue if e.msgid and not e.obsolete
        }

    assert pairs(mo) == pairs(po)


def model_strings() -> Iterator[tuple[str, str]]:
    """Every verbose name, help text and choice label of our models, in English."""
    with translation.override("en"):
        yield from _model_strings()


def _model_strings() -> Iterator[tuple[str, str]]:
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            meta = model._meta
            yield f"{meta.label} verbose_name", str(meta.verbose_name)
            yield f"{meta.label} verbose_name_plural", str(meta.verbose_name_plural)
            for field in meta.concrete_fields + meta.many_to_many:  # type: ignore[operator]
                if field.primary_key:
                    continue
                if field.model is not model or not getattr(field, "verbose_name", None):
                    continue
                label = f"{meta.label}.{field.name}"
                if field.model.__module__.startswith(("villages", "inspections")):
                    yield label, str(field.verbose_name)
                    if field.help_text:
                        yield f"{label} help_text", str(field.help_text)
                    for _value, choice in field.choices or []:
                        yield f"{label} choice", str(choice)


@pytest.mark.parametrize(("where", "english"), sorted(set(model_strings())))
def test_every_model_string_has_a_chinese_translation(where: str, english: str) -> None:
    with translation.override("zh-hans"):
        from django.utils.translation import gettext

        chinese = gettext(english)

    if english in TECHNICAL_TERMS:
        return
    assert chinese != english or not any(c.isascii() and c.isalpha() for c in english), where


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=OUR_APPS)
def test_the_compiled_catalogue_calls_them_problems_never_cases_at_law(catalogue: Path) -> None:
    """问题 on a 问题清单, never 案件 (which reads as a legal case against the village)."""
    mo = polib.mofile(str(catalogue / "django.mo"))

    with_case = [
        e.msgid for e in mo if "案件" in e.msgstr or any("案件" in v for v in e.msgstr_plural.values())
    ]

    assert with_case == []


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=OUR_APPS)
def test_a_plan_is_locked_not_promised(catalogue: Path) -> None:
    """Committing a plan is 锁定 (it freezes it); 承诺 is only the seed's commitment value (承诺值)."""
    mo = polib.mofile(str(catalogue / "django.mo"))

    def promised(text: str) -> bool:
        return "承诺" in text.replace("承诺值", "")

    assert [
        e.msgid for e in mo if promised(e.msgstr) or any(promised(v) for v in e.msgstr_plural.values())
    ] == []
