"""Track files: GPX read and written, and the GeoJSON of a track.

In: GPX 1.0 and 1.1 files, read into ``patrol.fixes.Fix`` rows, or refused whole with a
``FixFormatError`` naming the point that is wrong. Every number is finite and every latitude
and longitude in range (read by ``patrol.readers``, as every way in reads them), and a file is
screened for depth and size before gpxpy builds it. Out: GPX 1.1 and the GeoJSON of a track
(``track_features``, the one writer of both the shift's ``.geojson`` export and its points).

Pure functions: bytes, strings and rows in, values out; no database, no request objects. The
positioning apps' protocols are plug-ins of their own, in ``patrol.trackers``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, Any
from xml.parsers import expat

import gpxpy
import gpxpy.gpx

from patrol import readers
from patrol.fixes import Fix, FixFormatError

GPX_MAX_POINTS = 200_000
# A GPX document is gpx > trk > trkseg > trkpt > extensions > an extension's element > its
# fields: seven levels (Garmin's TrackPointExtension ``gpxtpx:hr``). gpxpy copies extension
# trees recursively, in C: 200,000 nested elements in one <extensions> overflow the process's
# stack (a segfault, no exception), so nesting is bounded before gpxpy sees the file.
GPX_MAX_DEPTH = 32
# Elements of any kind. gpxpy holds each as an object (about 200 bytes; 1,000,000 of them
# take about 200 MB and 2 s). A real track within GRIDCITY_PATROL_MAX_GPX_BYTES (10 MiB) has
# at most about 300,000: a point with its time, elevation and a Garmin extension is 7 elements
# in some 260 bytes.
GPX_MAX_ELEMENTS = 1_000_000
GPX11_NS = "http://www.topografix.com/GPX/1/1"
# Garmin's TrackPointExtension v2 is the common carrier of speed (m/s) and course (°) in GPX 1.1,
# which dropped GPX 1.0's <speed> and <course>.
GPXTPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


# -- GPX ---------------------------------------------------------------------------------------


def gpx_read(data: bytes | str | IO, *, max_points: int = GPX_MAX_POINTS) -> list[list[Fix]]:
    """Read a GPX 1.0 or 1.1 file: one list of fixes per track segment that has points.

    Routes and waypoints are ignored, and so are segments without points (the lists do not
    line up with the file's segments one to one; error fields use the file's own indices).
    The first fix of every list but the first is marked ``segment_start``: a new ``<trk>`` or
    ``<trkseg>`` is a break in the recording, not a straight line from the last point.
    Every track point needs a time — a time without a zone is UTC, as GPX prescribes — or the
    whole file is refused naming the point (``trk[1].trkseg[0].trkpt[0].time``): Garmin's
    saved tracks drop times, and a patrol without times cannot be placed in a shift.
    ``ele`` becomes the altitude; speed (m/s) and course (°) are read from GPX 1.0's
    ``<speed>``/``<course>`` or from a simple extension such as Garmin's
    TrackPointExtension v2 ``<gpxtpx:speed>``/``<gpxtpx:course>``; extension values that are
    no number are ignored. A number that is not finite (``inf``, ``1e999``, ``nan``) in any of
    these, or a latitude or longitude out of range, refuses the file naming the point
    (``trk[0].trkseg[0].trkpt[3].ele``).

    Before gpxpy sees the file, one streaming pass (expat, no tree) refuses it as ``file`` if
    it is not well-formed XML or not GPX, declares entities, nests elements deeper than
    ``GPX_MAX_DEPTH`` or holds more than ``GPX_MAX_ELEMENTS`` elements or more than
    ``max_points`` track points.
    """
    text = _gpx_text(data)
    _gpx_screen(text, max_points=max_points)
    try:
        gpx = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as error:
        raise FixFormatError("file", str(error)) from None

    segments = []
    for i, trk in enumerate(gpx.tracks):
        for j, segment in enumerate(trk.segments):
            fixes = [
                _gpx_fix(point, f"trk[{i}].trkseg[{j}].trkpt[{k}]")
                for k, point in enumerate(segment.points)
            ]
            if fixes:
                if segments:
                    fixes[0] = replace(fixes[0], segment_start=True)
                segments.append(fixes)
    return segments


class _GpxRefused(Exception):
    """Raised from inside expat's callbacks to stop the pass at once."""


def _gpx_screen(text: str, *, max_points: int) -> None:
    """Refuse, as ``file``, what gpxpy must not be given (see ``gpx_read``).

    expat calls back once per element and keeps nothing; exceptions raised in a callback stop
    the parse where it is, so a file nested 200,000 deep is refused at its 33rd level.
    """
    parser = expat.ParserCreate()
    depth = elements = points = 0

    def start(name: str, attributes: dict) -> None:
        nonlocal depth, elements, points
        depth += 1
        elements += 1
        local = name.rsplit(":", 1)[-1]
        if elements == 1 and local != "gpx":
            raise _GpxRefused("not a GPX document")
        if depth > GPX_MAX_DEPTH:
            raise _GpxRefused(f"elements nested deeper than {GPX_MAX_DEPTH} levels")
        if elements > GPX_MAX_ELEMENTS:
            raise _GpxRefused(f"more than {GPX_MAX_ELEMENTS:,} elements")
        if local == "trkpt":
            points += 1
            if points > max_points:
                raise _GpxRefused(f"more than {max_points:,} track points")

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    def entity(*args) -> None:
        # GPX needs none, and entity expansion is how small files become large documents.
        raise _GpxRefused("XML entity declarations are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(text, True)
    except _GpxRefused as refusal:
        raise FixFormatError("file", str(refusal)) from None
    except expat.ExpatError as error:
        where = f"line {error.lineno}, column {error.offset + 1}"
        reason = expat.ErrorString(error.code)
        raise FixFormatError("file", f"not well-formed XML: {reason} ({where})") from None
    if not elements:
        raise FixFormatError("file", "not a GPX document")


def _gpx_text(data: bytes | str | IO) -> str:
    if hasattr(data, "read"):
        data = data.read()
    if isinstance(data, str):
        return data
    if not isinstance(data, bytes | bytearray):
        raise FixFormatError("file", "expected bytes, text or a file")
    data = bytes(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.match(data)
    try:
        if declared:
            return data.decode(declared.group(1).decode("ascii"))
    except (LookupError, UnicodeDecodeError):
        pass
    raise FixFormatError("file", "not UTF-8, and no encoding it declares can read it")


def _gpx_fix(point: gpxpy.gpx.GPXTrackPoint, prefix: str) -> Fix:
    lat = readers.lat(point.latitude, f"{prefix}.lat")
    lon = readers.lon(point.longitude, f"{prefix}.lon")
    if point.time is None:
        raise FixFormatError(f"{prefix}.time", "missing or unreadable; every point needs a time")
    moment = point.time if point.time.tzinfo else point.time.replace(tzinfo=UTC)
    t = readers.moment_seconds(moment, f"{prefix}.time")
    altitude = readers.optional(point.elevation, f"{prefix}.ele")
    speed = readers.optional(point.speed, f"{prefix}.speed")
    course = readers.optional(point.course, f"{prefix}.course")
    extra = _gpx_extension_values(point, f"{prefix}.extensions")
    speed = extra.get("speed") if speed is None else speed
    course = extra.get("course") if course is None else course
    return Fix(
        t=t,
        lon=lon,
        lat=lat,
        speed=None if speed is None or speed < 0 else speed,
        heading=None if course is None or course < 0 else course,
        altitude=altitude,
    )


def _gpx_extension_values(point: gpxpy.gpx.GPXTrackPoint, prefix: str) -> dict[str, float]:
    """The first ``speed`` and ``course`` found in the point's extensions: a value that is no
    number is skipped (an extension GridCity does not know may use the name otherwise); one
    that is a number but not finite refuses the file."""
    values: dict[str, float] = {}
    for extension in point.extensions:
        for element in extension.iter():
            name = element.tag.rsplit("}", 1)[-1].lower()
            if name in ("speed", "course") and name not in values and element.text:
                try:
                    number = float(element.text)
                except ValueError:
                    continue
                values[name] = readers.number(number, f"{prefix}.{name}")
    return values


def _row(point: Any, name: str) -> Any:
    if isinstance(point, Mapping):
        return point.get(name)
    return getattr(point, name, None)


def gpx_write(points: Iterable[Any], *, name: str = "", creator: str = "GridCity") -> str:
    """GPX 1.1 text of one track of ``points``, in their order: one segment, and another from
    each point whose ``segment_start`` is true (a break the recording made: what ``gpx_read``
    reads back as segments).

    ``points`` are dicts (or objects, such as ``Fix``) with ``t`` (aware datetime, or epoch
    seconds), ``lon``, ``lat``, ``altitude`` (m, may be None) and ``speed`` (m/s, may be None).
    Times are written in UTC; speed goes into Garmin's TrackPointExtension v2, which GPX 1.1
    readers (and ``gpx_read``) understand.
    """
    gpx = gpxpy.gpx.GPX()
    gpx.creator = creator
    gpx.nsmap["gpxtpx"] = GPXTPX_NS
    gpx.schema_locations = [
        GPX11_NS,
        "http://www.topografix.com/GPX/1/1/gpx.xsd",
        GPXTPX_NS,
        "https://www8.garmin.com/xmlschemas/TrackPointExtensionv2.xsd",
    ]
    track = gpxpy.gpx.GPXTrack(name=name or None)
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    gpx.tracks.append(track)
    for point in points:
        if _row(point, "segment_start") and segment.points:
            segment = gpxpy.gpx.GPXTrackSegment()
            track.segments.append(segment)
        trkpt = gpxpy.gpx.GPXTrackPoint(
            latitude=_row(point, "lat"),
            longitude=_row(point, "lon"),
            elevation=_row(point, "altitude"),
            time=readers.utc(_row(point, "t")),
        )
        if (speed := _row(point, "speed")) is not None:
            extension = ET.Element(f"{{{GPXTPX_NS}}}TrackPointExtension")
            ET.SubElement(extension, f"{{{GPXTPX_NS}}}speed").text = f"{speed:.3f}"
            trkpt.extensions.append(extension)
        segment.points.append(trkpt)
    return gpx.to_xml(version="1.1")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def geojson_track(points: Iterable[Any], *, properties: dict, with_points: bool = False) -> dict:
    """A GeoJSON FeatureCollection of one track: a LineString feature of ``points`` (same rows
    as ``gpx_write``), coordinates ``[lon, lat]``, carrying ``properties`` plus ``times``.

    ``times`` holds the UTC ISO 8601 time of each coordinate, parallel to ``coordinates``.
    GeoJSON (RFC 7946) has no place for time in a geometry; a property array parallel to the
    coordinates is the usual convention (Mapbox's togeojson calls it ``coordTimes``). With
    ``with_points``, one Point feature per fix follows, with its ``t``, ``altitude`` and
    ``speed``.
    """
    rows = list(points)
    times = [_iso(readers.utc(_row(p, "t"))) for p in rows]
    extra = None
    if with_points:
        extra = [
            {"t": t, "altitude": _row(p, "altitude"), "speed": _row(p, "speed")}
            for p, t in zip(rows, times, strict=True)
        ]
    return track_features(
        [[_row(p, "lon"), _row(p, "lat")] for p in rows],
        properties={**properties, "times": times},
        points=extra,
    )


def track_features(
    coordinates: list[list[float]], *, properties: dict, points: list[dict] | None = None
) -> dict:
    """The GeoJSON of a track: a FeatureCollection whose first feature is the LineString of the
    ``coordinates`` (``[lon, lat]``) carrying ``properties``, followed, when ``points`` are
    given (one dict of properties per coordinate), by one Point feature per coordinate. With
    fewer than two coordinates the line has a null geometry, as RFC 7946 allows no one-point
    line."""
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coordinates}
        if len(coordinates) >= 2
        else None,
        "properties": properties,
    }
    features = [line]
    if points is not None:
        features += [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": xy}, "properties": p}
            for xy, p in zip(coordinates, points, strict=True)
        ]
    return {"type": "FeatureCollection", "features": features}
