"""The one shape every way in gives a GPS fix before it is filtered and stored.

The batch API, the OsmAnd (Traccar Client) and OwnTracks endpoints and GPX import each parse
their own format into ``Fix`` rows, in WGS-84 or in the ``crs`` they were given; ingestion
(``patrol.services.track_points_ingest``) converts, filters, assigns shifts and stores them.
"""

from dataclasses import dataclass

from gridcity.errors import FieldInvalid


@dataclass(frozen=True, slots=True)
class Fix:
    t: float  # device time of the fix, seconds since the epoch (UTC)
    lon: float
    lat: float
    accuracy: float | None = None  # metres (horizontal, 1 sigma as Android reports it)
    speed: float | None = None  # metres per second
    heading: float | None = None  # degrees from north
    altitude: float | None = None  # metres
    battery: float | None = None  # percent
    mock: bool = False  # the device says the location was simulated
    client_id: str = ""  # the handheld's own id of the fix, when it sends one
    segment_start: bool = False  # the recording breaks before this fix (a new GPX trk/trkseg)
    time_from_server: bool = False  # the device sent no time: ``t`` is when it was received


class FixFormatError(FieldInvalid):
    """A payload that cannot be read as fixes at all: the whole request is refused (400).

    ``field`` names the part that is wrong (``points[3].t``), ``message`` says why.
    """
