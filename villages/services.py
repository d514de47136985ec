"""Writes to the division table: importing an edition of the NBS codes; recounting the village tallies.

``divisions_import`` reads the whole file and validates every row before it
writes anything; then it applies the difference from what is stored in one
transaction. A second run of the same file changes nothing; a unit that a newer
edition drops is marked inactive, never deleted (inspections point at it).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from config.bulk import insert_rows
from villages.models import (
    LEVEL_CODE_LENGTHS,
    PARENT_CODE_LENGTH,
    VILLAGE_AREA_LENGTHS,
    VILLAGE_CODE_LENGTH,
    Division,
    Village,
    VillageTally,
    village_kind_for,
)
from villages.selectors import active_villages_counted

CODE_LENGTHS = {*LEVEL_CODE_LENGTHS.values(), VILLAGE_CODE_LENGTH}
LEVEL_BY_LENGTH = {length: level for level, length in LEVEL_CODE_LENGTHS.items()}
_DIGITS = re.compile(r"[0-9]+")
BATCH = 5000
MAX_REPORTED_ERRORS = 50

Progress = Callable[[Iterable[object], str, int], Iterable[object]]


@dataclass(frozen=True)
class RowError:
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.code!r}: {self.message}"


class DivisionFileError(Exception):
    """The file cannot be imported; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "\n".join(str(e) for e in errors[:MAX_REPORTED_ERRORS])
        more = len(errors) - MAX_REPORTED_ERRORS
        suffix = f"\n… and {more} more" if more > 0 else ""
        super().__init__(f"{len(errors)} bad row(s), nothing imported:\n{shown}{suffix}")


@dataclass
class ImportReport:
    rows: int = 0
    in_scope: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    deactivated: Counter[str] = field(default_factory=Counter)

    def count(self, counter: Counter[str], label: str, n: int) -> None:
        if n:
            counter[label] += n

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) + sum(self.updated.values()) + sum(self.deactivated.values()))

    def summary(self) -> str:
        read = f"{self.rows} rows read" + (
            f", {self.in_scope} in scope" if self.in_scope != self.rows else ""
        )
        if not self.changed:
            return f"{read}; no changes."
        parts = []
        for label, counter in (
            ("created", self.created),
            ("updated", self.updated),
            ("deactivated", self.deactivated),
        ):
            if counter:
                detail = ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items()))
                parts.append(f"{label}: {detail}")
        return f"{read}; " + "; ".join(parts) + "."


def _kind_label(length: int) -> str:
    if length == VILLAGE_CODE_LENGTH:
        return "village"
    return Division.Level(LEVEL_BY_LENGTH[length]).name.lower()


def read_division_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, columns)`` of a CSV or gzip-compressed CSV file."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        yield from enumerate(csv.reader(text), start=1)


def _parse(
    rows: Iterable[tuple[int, list[str]]], prefix: str
) -> tuple[dict[str, tuple[int, str]], list[RowError], int]:
    """Validate every row; return ``{code: (line, name)}`` within scope and the errors."""
    units: dict[str, tuple[int, str]] = {}
    seen: dict[str, int] = {}
    errors: list[RowError] = []
    count = 0
    for line, columns in rows:
        if not columns or (len(columns) == 1 and not columns[0].strip()):
            continue
        if line == 1 and [c.strip().lower() for c in columns] == ["code", "name"]:
            continue
        count += 1
        if len(columns) != 2:
            errors.append(
                RowError(line, columns[0] if columns else "", f"expected 2 columns, found {len(columns)}")
            )
            continue
        code, name = columns[0].strip(), columns[1].strip()
        if not _DIGITS.fullmatch(code):
            errors.append(RowError(line, code, "the code must be digits only"))
            continue
        if len(code) not in CODE_LENGTHS:
            errors.append(RowError(line, code, f"bad code length {len(code)} (expected 2, 4, 6, 9 or 12)"))
            continue
        if not name:
            errors.append(RowError(line, code, "the name is empty"))
            continue
        if code in seen:
            errors.append(RowError(line, code, f"duplicate code (first on line {seen[code]})"))
            continue
        seen[code] = line
        if code.startswith(prefix) or prefix.startswith(code):
            units[code] = (line, name)
    return units, errors, count


@transaction.atomic
def divisions_import(*, path: Path, prefix: str = "", progress: Progress | None = None) -> ImportReport:
    """Import an edition of the NBS division table, whole or one subtree.

    Raises :class:`DivisionFileError` (and writes nothing) if any row is bad.
    """
    if prefix and (not _DIGITS.fullmatch(prefix) or len(prefix) not in CODE_LENGTHS):
        raise DivisionFileError([RowError(0, prefix, "the prefix must be a 2, 4, 6, 9 or 12-digit code")])

    units, errors, count = _parse(read_division_rows(path), prefix)
    report = ImportReport(rows=count, in_scope=len(units))

    existing_divisions = {
        code: (pk, name, parent_id, active)
        for pk, code, name, parent_id, active in Division.objects.values_list(
            "id", "code", "name", "parent_id", "is_active"
        )
    }
    for code, (line, _name) in sorted(units.items()):
        if len(code) > 2:
            parent = code[: PARENT_CODE_LENGTH[len(code)]]
            if parent not in units and parent not in existing_divisions:
                errors.append(RowError(line, code, f"unknown parent {parent}"))
    if prefix and prefix not in units and prefix not in existing_divisions:
        errors.append(RowError(0, prefix, "the prefix names no unit in the file"))
    if errors:
        errors.sort(key=lambda e: e.line)
        raise DivisionFileError(errors)

    ids = {code: row[0] for code, row in existing_divisions.items()}
    track = progress or (lambda items, _label, _total: items)

    # Divisions, level by level, so each level's parents have ids.
    for level, length in sorted(LEVEL_CODE_LENGTHS.items()):
        label = _kind_label(length)
        level_codes = sorted(c for c in units if len(c) == length)
        new: list[dict[str, object]] = []
        changed: list[Division] = []
        for code in track(level_codes, f"{label:>10}", len(level_codes)):  # type: ignore[assignment]
            name = units[code][1]
            parent_id = ids[code[: PARENT_CODE_LENGTH[length]]] if length > 2 else None
            current = existing_divisions.get(code)
            if current is None:
                new.append({"code": code, "name": name, "level": level, "parent_id": parent_id})
            elif current[1:] != (name, parent_id, True):
                changed.append(
                    Division(id=current[0], code=code, name=name, parent_id=parent_id, is_active=True)
                )
        insert_rows(Division, new)
        Division.objects.bulk_update(changed, ["name", "parent", "is_active"], batch_size=BATCH)
        report.count(report.created, label, len(new))
        report.count(report.updated, label, len(changed))
        if new:
            ids.update(Division.objects.filter(level=level).values_list("code", "id"))

    # Villages.
    village_scope = (
        Village.objects.within(prefix)
        if len(prefix) < VILLAGE_CODE_LENGTH
        else Village.objects.filter(code=prefix)
    )
    existing_villages = {
        code: (pk, name, township_id, kind, active)
        for pk, code, name, township_id, kind, active in village_scope.values_list(
            "id", "code", "name", "township_id", "kind", "is_active"
        )
    }
    village_codes = sorted(c for c in units if len(c) == VILLAGE_CODE_LENGTH)
    new_villages: list[dict[str, object]] = []
    changed_villages: list[Village] = []
    for code in track(village_codes, f"{'village':>10}", len(village_codes)):  # type: ignore[assignment]
        name = units[code][1]
        township_id = ids[code[:9]]
        kind = village_kind_for(code, name)
        current_village = existing_villages.get(code)
        if current_village is None:
            new_villages.append({"code": code, "name": name, "township_id": township_id, "kind": kind})
        elif current_village[1:] != (name, township_id, kind, True):
            changed_villages.append(
                Village(id=current_village[0], name=name, township_id=township_id, kind=kind, is_active=True)
            )
    insert_rows(Village, new_villages)
    Village.objects.bulk_update(changed_villages, ["name", "township", "kind", "is_active"], batch_size=BATCH)
    report.count(report.created, "village", len(new_villages))
    report.count(report.updated, "village", len(changed_villages))

    # Units of the imported scope that this edition no longer lists.
    dropped_villages = [row[0] for code, row in existing_villages.items() if row[4] and code not in units]
    for start in range(0, len(dropped_villages), BATCH):
        Village.objects.filter(id__in=dropped_villages[start : start + BATCH]).update(is_active=False)
    report.count(report.deactivated, "village", len(dropped_villages))
    dropped_divisions = [
        (code, row[0])
        for code, row in existing_divisions.items()
        if row[3] and code.startswith(prefix) and code not in units
    ]
    for start in range(0, len(dropped_divisions), BATCH):
        chunk = dropped_divisions[start : start + BATCH]
        Division.objects.filter(id__in=[pk for _code, pk in chunk]).update(is_active=False)
    for code, _pk in dropped_divisions:
        report.count(report.deactivated, _kind_label(len(code)), 1)
    return report


def county_point(*, path: Path, code: str) -> tuple[float, float]:
    """The ``(longitude, latitude)`` of a division in the CPCA points file (GCJ-02)."""
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["code"] == code:
                return float(row["longitude"]), float(row["latitude"])
    raise LookupError(f"no point for division {code} in {path}")


def _unit_offset(key: str, radius_km: float) -> tuple[float, float]:
    """A deterministic point within ``radius_km`` of the origin, from a code."""
    digest = hashlib.sha256(key.encode()).digest()
    angle = int.from_bytes(digest[:4], "big") / 2**32 * 2 * math.pi
    distance = math.sqrt(int.from_bytes(digest[4:8], "big") / 2**32) * radius_km
    return distance * math.cos(angle), distance * math.sin(angle)


@transaction.atomic
def villages_derive_locations(
    *, county_code: str, origin: tuple[float, float], radius_km: float = 18.0
) -> int:
    """Give the county's villages that have no location an approximate, derived one.

    Each township is placed at a point drawn (from its code) within
    ``radius_km`` of the county point, and each village within 2.5 km of its
    township. The points are labelled ``derived`` and GCJ-02 (the county
    point's datum): good enough for a demo map and for distance flags of the
    right order, never survey data. Confirmed locations are left alone.
    """
    lon0, lat0 = origin
    km_per_deg_lat = 111.32
    km_per_deg_lon = 111.32 * math.cos(math.radians(lat0))
    updated = []
    for village in Village.objects.within(county_code).filter(longitude__isnull=True):
        tx, ty = _unit_offset(village.code[:9], radius_km)
        vx, vy = _unit_offset(village.code, 2.5)
        village.longitude = round(lon0 + (tx + vx) / km_per_deg_lon, 6)
        village.latitude = round(lat0 + (ty + vy) / km_per_deg_lat, 6)
        village.datum = "gcj02"
        village.location_source = Village.LocationSource.DERIVED
        updated.append(village)
    Village.objects.bulk_update(
        updated, ["longitude", "latitude", "datum", "location_source"], batch_size=BATCH
    )
    return len(updated)


@transaction.atomic
def village_tallies_recount() -> int:
    """Count every area's active villages again (:class:`~villages.models.VillageTally`); the areas counted.

    The database keeps the tallies on every write to the villages; this is for a database
    whose triggers were bypassed (a restore with triggers disabled, rows copied in with
    ``session_replication_role = replica``). Writers of villages wait until it commits:
    a village counted by its trigger between the count and the write would be lost.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {VillageTally._meta.db_table} IN EXCLUSIVE MODE")
    counts = [
        VillageTally(area=area, area_length=length, villages=count)
        for length in VILLAGE_AREA_LENGTHS
        for area, count in active_villages_counted(prefix="", length=length)
    ]
    VillageTally.objects.all().delete()
    VillageTally.objects.bulk_create(counts, batch_size=BATCH)
    return len(counts)
