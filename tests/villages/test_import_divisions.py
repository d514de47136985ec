from __future__ import annotations

import gzip
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from villages.models import Division, Village
from villages.services import DivisionFileError, divisions_import

SMALL = """code,name
33,浙江省
3305,湖州市
330523,安吉县
330523108,天荒坪镇
330523108204,余村村委会
330523108001,天荒坪社区居委会
330523108403,某农场生活区
330522,长兴县
330522100,雉城街道
330522100201,某村村委会
"""


def write(tmp_path: Path, text: str, name: str = "divisions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_file(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_divisions", str(path), *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple[object, ...]]:
    return list(Division.objects.values_list("code", "name", "parent__code", "is_active")) + list(
        Village.objects.values_list("code", "name", "township__code", "kind", "is_active")
    )


@pytest.mark.django_db
def test_it_imports_levels_parents_and_village_classes(tmp_path: Path) -> None:
    output = import_file(write(tmp_path, SMALL))

    assert "created" in output
    assert Division.objects.filter(code="330523108", parent__code="330523").exists()
    assert Division.objects.get(code="330523").level == Division.Level.COUNTY
    yucun = Village.objects.get(code="330523108204")
    assert (yucun.name, yucun.township.code, yucun.kind) == ("余村村委会", "330523108", "villagers")
    assert Village.objects.get(code="330523108001").kind == "residents"
    assert Village.objects.get(code="330523108403").kind == "other"


@pytest.mark.django_db
def test_it_reads_gzip(tmp_path: Path) -> None:
    path = tmp_path / "divisions.csv.gz"
    path.write_bytes(gzip.compress(SMALL.encode()))

    import_file(path)

    assert Village.objects.count() == 4


@pytest.mark.django_db
def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL)
    import_file(path)
    before = snapshot()

    output = import_file(path)

    assert "no changes" in output
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("3305231082041,太长村委会", "bad code length 13"),
        ("33052310820X,字母村委会", "the code must be digits only"),
        ("330599108204,孤儿村委会", "unknown parent 330599108"),
        ("330523108204,重复村委会", "duplicate code (first on line 6)"),
        ("330523108205,", "the name is empty"),
        ("330523108206,多,一列", "expected 2 columns"),
    ],
)
def test_a_bad_row_fails_with_its_line_number_and_changes_nothing(
    tmp_path: Path, bad_line: str, message: str
) -> None:
    import_file(write(tmp_path, SMALL, "first.csv"))
    before = snapshot()
    # line 12 is the bad one; the good rows before it would change names
    text = SMALL.replace("余村村委会", "余村村民委员会") + "330523108299,新村村委会\n" + bad_line + "\n"

    with pytest.raises(CommandError) as error:
        import_file(write(tmp_path, text, "second.csv"))

    assert f"line 13: {bad_line.split(',')[0]!r}: {message}" in str(error.value)
    assert snapshot() == before


@pytest.mark.django_db
def test_it_reports_every_bad_row_not_only_the_first(tmp_path: Path) -> None:
    text = SMALL + "12345,坏\n330523108ABC,坏\n"

    with pytest.raises(DivisionFileError) as error:
        divisions_import(path=write(tmp_path, text))

    assert [(e.line, e.code) for e in error.value.errors] == [(12, "12345"), (13, "330523108ABC")]
    assert not Division.objects.exists()


@pytest.mark.django_db
def test_a_unit_dropped_by_a_newer_edition_is_marked_inactive_not_deleted(tmp_path: Path) -> None:
    import_file(write(tmp_path, SMALL))
    newer = SMALL.replace("330523108403,某农场生活区\n", "").replace("天荒坪镇", "天荒坪镇(新)")

    output = import_file(write(tmp_path, newer, "newer.csv"))

    assert "deactivated: village 1" in output
    assert "updated: township 1" in output
    assert Village.objects.get(code="330523108403").is_active is False
    assert Division.objects.get(code="330523108").name == "天荒坪镇(新)"
    # it comes back if a later edition lists it again
    import_file(write(tmp_path, SMALL, "again.csv"))
    assert Village.objects.get(code="330523108403").is_active is True


@pytest.mark.django_db
def test_a_prefix_imports_one_subtree_with_its_ancestors(tmp_path: Path) -> None:
    import_file(write(tmp_path, SMALL), "--prefix", "330523")

    assert set(Division.objects.values_list("code", flat=True)) == {"33", "3305", "330523", "330523108"}
    assert Village.objects.filter(code__startswith="330522").count() == 0


@pytest.mark.django_db
def test_a_prefix_import_never_deactivates_outside_its_subtree(tmp_path: Path) -> None:
    import_file(write(tmp_path, SMALL))
    only_anji = "\n".join(line for line in SMALL.splitlines() if not line.startswith("330522")) + "\n"

    import_file(write(tmp_path, only_anji, "anji.csv"), "--prefix", "330523")

    assert Village.objects.get(code="330522100201").is_active is True
    assert Division.objects.get(code="330522").is_active is True


@pytest.mark.django_db
def test_an_unknown_prefix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="names no unit"):
        import_file(write(tmp_path, SMALL), "--prefix", "440000")


@pytest.mark.django_db
def test_a_missing_or_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        import_file(tmp_path / "nope.csv")
    binary = tmp_path / "bad.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError, match="Cannot read"):
        import_file(binary)


@pytest.mark.django_db
def test_it_reports_progress_for_each_level(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def progress(items, label, total):  # type: ignore[no-untyped-def]
        seen.append((label.strip(), total))
        return items

    divisions_import(path=write(tmp_path, SMALL), progress=progress)

    assert seen == [("province", 1), ("prefecture", 1), ("county", 2), ("township", 2), ("village", 4)]
