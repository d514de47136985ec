"""Datum conversion (WGS-84 ↔ GCJ-02) and great-circle distance.

Phone GPS and photo EXIF are WGS-84; Chinese web maps and many Chinese datasets
are GCJ-02, offset from WGS-84 by a few hundred metres inside mainland China
(and not at all outside it). A distance is only meaningful once both points
are in the same datum, so everything that measures converts to WGS-84 first.

The GCJ-02 forward transform is the published obfuscation algorithm; it has no
closed-form inverse, so :func:`gcj02_to_wgs84` iterates the forward transform
until it agrees to well below a millimetre. Written here because the packages
that carry it on PyPI are unmaintained one-file copies of the same formulas.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)

_A = 6_378_245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses
_EE = 0.006_693_421_622_965_943  # its first eccentricity squared


def outside_china(lon: float, lat: float) -> bool:
    """GCJ-02 leaves points outside this box untouched (the usual rough box)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if outside_china(lon, lat):
        return lon, lat
    d_lon, d_lat = _delta(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (converges in a few steps)."""
    if outside_china(lon, lat):
        return lon, lat
    w_lon, w_lat = lon, lat
    for _ in range(30):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if abs(e_lon) < 1e-10 and abs(e_lat) < 1e-10:
            break
    return w_lon, w_lat


def to_wgs84(lon: float, lat: float, datum: str) -> tuple[float, float]:
    """The point in WGS-84, whatever datum (``wgs84`` or ``gcj02``) it was stored in."""
    if datum == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if datum == "wgs84":
        return lon, lat
    raise ValueError(f"unknown datum {datum!r}")


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two points of the same datum."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def distance_to_point_m(
    reference: tuple[float, float] | None, *, longitude: float, latitude: float
) -> float | None:
    """Metres from a WGS-84 point to ``reference`` (WGS-84), or None when the reference is unknown."""
    if reference is None:
        return None
    return haversine_m(reference[0], reference[1], longitude, latitude)


def distance_m(a: tuple[float, float, str], b: tuple[float, float, str]) -> float:
    """Great-circle distance in metres of two ``(longitude, latitude, datum)`` points.

    Both are converted to WGS-84 first: the offset between the datums is
    hundreds of metres inside China, as large as the thresholds measured.
    """
    lon1, lat1 = to_wgs84(a[0], a[1], a[2])
    lon2, lat2 = to_wgs84(b[0], b[1], b[2])
    return haversine_m(lon1, lat1, lon2, lat2)
