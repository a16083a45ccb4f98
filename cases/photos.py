"""Case photos: check an upload, read its EXIF facts, write clean copies without metadata.

Inspectors' handhelds send evidence photos at the report, handle and verify stages of a case.
This module is the pure image part of that: bytes in, a decoded image, facts and new bytes out.
No database and no request objects; the model and the upload API call these functions.

* :func:`photo_inspect` refuses anything that is not a complete JPEG, PNG or WebP within the
  size limits (judged by content, never by file name or the client's content type), checks the
  pixel count from the header before any pixel is decoded, then decodes fully so a truncated
  upload fails, and returns the image turned upright by its EXIF orientation together with a
  :class:`PhotoFacts` (format, size, SHA-256, EXIF time and GPS position).
* :func:`photo_clean`, :func:`photo_thumbnail` and :func:`photo_display` write new files that
  carry no metadata at all: no EXIF (so no GPS or device serials), no XMP, no ICC profile (colours
  are converted to sRGB first), no comments, no PNG text chunks. :func:`photo_display` adds the
  dark watermark band of a field camera (水印相机) with the case number, time and place.
* :func:`distance_m` tells how far from its case a photo was taken.

Limits are module constants; a Django setting of the same meaning overrides each one when
settings are configured (``GRIDCITY_PHOTO_MAX_BYTES``, ``GRIDCITY_PHOTO_MAX_PIXELS``,
``GRIDCITY_PHOTO_FORMATS`` which may only narrow the accepted formats, and
``GRIDCITY_PHOTO_FONT``, a font file tried before the built-in candidates). Settings are read at
call time, so the module also works in a script without Django settings.

This module never changes Pillow's process-wide switches. The cases app sets Pillow's own
decompression-bomb guard, ``Image.MAX_IMAGE_PIXELS``, to ``GRIDCITY_PHOTO_MAX_PIXELS`` when
Django starts (``cases.apps``), so every image the server opens is held to the same number;
here it only ever lowers the pixel limit further. If something in the process has set
``ImageFile.LOAD_TRUNCATED_IMAGES`` (which makes Pillow fill a cut-off upload with grey instead
of failing) :func:`photo_inspect` refuses to work rather than accept incomplete evidence.
:func:`photo_read` takes an uploaded file, checks its size before reading it, and never reads
more than one byte past the byte limit.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageDraw, ImageFile, ImageFont, ImageOps

from gridcity.errors import DomainError, ErrorAnswer
from gridcity.geometry import haversine_m

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")

# EXIF times without an offset tag are local times of the district.
LOCAL_TIME_ZONE = ZoneInfo("Asia/Shanghai")

JPEG_QUALITY = 90
THUMBNAIL_QUALITY = 80
DISPLAY_QUALITY = 85

# Watermark: text height as a share of the image width (≈ 45 px on a 1600 px wide copy), never
# below the minimum; the band darkens what is under it by this share.
WATERMARK_FONT_RATIO = 0.028
WATERMARK_MIN_FONT_PX = 12
WATERMARK_BAND_DARKNESS = 0.55

# CJK fonts to try, in order, with the face index inside a collection (Noto's 2 is the SC face).
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
)

_MESSAGES: dict[str, Promise] = {
    "too_large": _("The photo is %(size)s; photos may be at most %(limit)s."),
    "too_many_pixels": _("The photo has too many pixels; the limit is %(limit)s megapixels."),
    "not_an_image": _("The file is not an image."),
    "unsupported_format": _(
        "%(format)s images are not accepted; send the photo as JPEG, PNG or WebP."
    ),
    "truncated": _("The photo is incomplete, probably cut off in transfer; send it again."),
    "corrupt": _("The photo is damaged and cannot be read; send it again."),
}

# Pillow's errors on malformed files: each plugin raises what suits it.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def _interpolate(message: Any, params: Mapping[str, Any]) -> str:
    """Render a (lazy) message with its parameters in the active language at the time of use."""
    return str(message) % params if params else str(message)


_interpolate_lazy = lazy(_interpolate, str)


class PhotoRejected(DomainError, ValueError):
    """An upload that is not an acceptable case photo.

    ``code`` is a short machine code (``too_large``, ``too_many_pixels``, ``not_an_image``,
    ``unsupported_format``, ``truncated``, ``corrupt``) for API clients and tests; ``message`` is
    a lazy, translatable sentence for people, rendered in the language active when it is shown;
    ``params`` holds the values interpolated into it. Answered 413 naming the ``file`` field.
    """

    status = 413

    def __init__(
        self,
        code: str,
        *,
        message: str | Promise | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.params = dict(params or {})
        self.message = _interpolate_lazy(
            message if message is not None else _MESSAGES.get(code, _MESSAGES["corrupt"]),
            self.params,
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)

    def __repr__(self) -> str:
        return f"PhotoRejected(code={self.code!r})"

    def answer(self) -> ErrorAnswer:
        message = str(self.message)
        return ErrorAnswer(self.status, self.code, f"file: {message}", {"file": [message]})


@dataclass(frozen=True)
class PhotoFacts:
    """What is known of an accepted photo: ``format`` (``"JPEG"``, ``"PNG"`` or ``"WEBP"``),
    ``width`` and ``height`` after the EXIF orientation is applied, ``bytes`` and ``sha256`` of
    the upload as received, ``taken_at`` (an aware datetime from EXIF, or None) and ``lon``,
    ``lat`` (WGS-84 decimal degrees from the EXIF GPS block, or None when absent or implausible).
    """

    format: str
    width: int
    height: int
    bytes: int
    sha256: str
    taken_at: datetime | None
    lon: float | None
    lat: float | None


# --- limits -----------------------------------------------------------------------------------


def _setting(name: str, default: Any) -> Any:
    """A Django setting if settings are configured, else the default (no settings in scripts)."""
    from django.conf import settings

    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:
        return default


def photo_limits() -> tuple[int, int, tuple[str, ...]]:
    """The limits in force: maximum bytes, maximum pixels and accepted Pillow format names.

    Each is the module constant unless a Django setting overrides it; the pixel limit is further
    capped by ``PIL.Image.MAX_IMAGE_PIXELS`` (so Pillow's own decompression-bomb warning can never
    fire on an image this module accepts), and ``GRIDCITY_PHOTO_FORMATS`` can only narrow the
    formats to some of JPEG, PNG and WEBP because nothing else is cleaned.
    """
    max_bytes = int(_setting("GRIDCITY_PHOTO_MAX_BYTES", MAX_BYTES))
    max_pixels = int(_setting("GRIDCITY_PHOTO_MAX_PIXELS", MAX_PIXELS))
    if Image.MAX_IMAGE_PIXELS is not None:
        max_pixels = min(max_pixels, int(Image.MAX_IMAGE_PIXELS))
    formats = tuple(str(f).upper() for f in _setting("GRIDCITY_PHOTO_FORMATS", ACCEPTED_FORMATS))
    unknown = set(formats) - set(ACCEPTED_FORMATS)
    if unknown:
        raise ImproperlyConfigured(
            f"GRIDCITY_PHOTO_FORMATS may only list {', '.join(ACCEPTED_FORMATS)}, "
            f"not {', '.join(sorted(unknown))}."
        )
    return max_bytes, max_pixels, formats


def _megabytes(n: int) -> str:
    """A byte count for people, in the binary megabytes the limits are written in."""
    return f"{n / (1024 * 1024):.1f} MB"


def photo_read(upload) -> bytes:
    """The bytes of an uploaded file, never more than the byte limit of a photo.

    ``upload`` is a Django ``UploadedFile`` (a large one lives in a temporary file, not in
    memory). Its size is checked before anything is read, and at most one byte past the limit
    is ever read, whatever the size claimed: a photo over the limit raises
    :class:`PhotoRejected` ``too_large`` with nothing of it held in memory.
    """
    max_bytes = photo_limits()[0]
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise PhotoRejected(
            "too_large", params={"size": _megabytes(size), "limit": _megabytes(max_bytes)}
        )
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoRejected(
            "too_large",
            params={"size": f"> {_megabytes(max_bytes)}", "limit": _megabytes(max_bytes)},
        )
    return data


# --- inspect ----------------------------------------------------------------------------------

# First bytes of formats people may upload, to tell "unsupported format" from "not an image".
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"8BPS", "PSD"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (0, b"\xff\x0a", "JPEG XL"),
)
# A BMP starts with "BM", and its info header with its own size, one of a few known values.
_BMP_HEADER_SIZES = {struct.pack("<I", n) for n in (12, 40, 52, 56, 64, 108, 124)}
_HEIF_BRANDS = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"hevc": "HEIC",
    b"hevx": "HEIC",
    b"heim": "HEIC",
    b"heis": "HEIC",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}


def _sniff(data: bytes) -> str | None:
    """Name the image format that ``data`` starts like, from its signature bytes, or None."""
    for offset, signature, name in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and data[14:18] in _BMP_HEADER_SIZES:
        return "BMP"
    if data[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(data[8:12])
    return None


def _open_failure(data: bytes, formats: tuple[str, ...]) -> PhotoRejected:
    """Why Pillow could not open ``data`` with the accepted plugins, as a PhotoRejected."""
    sniffed = _sniff(data)
    if sniffed is None:
        return PhotoRejected("not_an_image")
    if sniffed not in formats:
        return PhotoRejected("unsupported_format", params={"format": sniffed})
    # An accepted format that Pillow cannot parse: cut off early, or damaged.
    if sniffed == "WEBP" and len(data) < struct.unpack("<I", data[4:8])[0] + 8:
        return PhotoRejected("truncated")
    return PhotoRejected("corrupt")


def photo_inspect(data: bytes) -> tuple[Image.Image, PhotoFacts]:
    """Check an uploaded photo and return it decoded and upright, with its facts.

    ``data`` is the whole upload. It is refused (:class:`PhotoRejected`) when larger than the
    byte limit (before Pillow sees it), when it is not an image or not JPEG, PNG or WebP (judged
    by content only), when its header declares more pixels than the limit (before any pixel is
    decoded; Pillow's decompression-bomb error and warning come out as the same refusal), and when
    decoding every pixel fails, as it does for a truncated or damaged file. The EXIF time and GPS
    position are read, the EXIF orientation is applied, colours with an ICC profile are converted
    to sRGB, and the image is returned as RGB (RGBA for a PNG with real transparency) with no
    metadata attached, together with a :class:`PhotoFacts`. Raises ImproperlyConfigured if
    ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` has been switched on in this process.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise ImproperlyConfigured(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True in this process, so Pillow would accept "
            "cut-off photos filled with grey; case photos are refused until it is False again."
        )
    max_bytes, max_pixels, formats = photo_limits()
    if len(data) > max_bytes:
        raise PhotoRejected(
            "too_large", params={"size": _megabytes(len(data)), "limit": _megabytes(max_bytes)}
        )
    if not data:
        raise PhotoRejected("not_an_image")
    data = bytes(data)  # bytearray or memoryview from an upload handler: one immutable copy
    too_many_pixels = PhotoRejected(
        "too_many_pixels", params={"limit": f"{max_pixels / 1_000_000:g}"}
    )

    with _photo_open(data, formats, too_many_pixels) as image:
        fmt = "JPEG" if image.format == "MPO" else str(image.format)
        _pixels_load(image, max_pixels, too_many_pixels)
        exif = _safe_exif(image)
        taken_at = _exif_taken_at(exif)
        lon, lat = _exif_lon_lat(exif)
        try:
            upright = ImageOps.exif_transpose(image)
        except (*_PILLOW_ERRORS, KeyError, TypeError):  # a damaged orientation tag: leave as is
            upright = image.copy()
        upright = _normalise(upright, keep_alpha=fmt == "PNG")

    facts = PhotoFacts(
        format=fmt,
        width=upright.width,
        height=upright.height,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        taken_at=taken_at,
        lon=lon,
        lat=lat,
    )
    return upright, facts


def _photo_open(data: bytes, formats: tuple, too_many_pixels: PhotoRejected) -> Image.Image:
    """The upload opened (header only) by the accepted formats' plugins, or PhotoRejected."""
    try:
        # Only the accepted plugins parse the upload: less of Pillow is exposed to hostile input.
        return Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many_pixels from exc
    except _PILLOW_ERRORS as exc:  # UnidentifiedImageError is an OSError
        raise _open_failure(data, formats) from exc


def _pixels_load(image: Image.Image, max_pixels: int, too_many_pixels: PhotoRejected) -> None:
    """Decode every pixel, after checking the pixel count the header declares."""
    width, height = image.size
    if width < 1 or height < 1:
        raise PhotoRejected("corrupt")
    if width * height > max_pixels:
        raise too_many_pixels
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many_pixels from exc
    except _PILLOW_ERRORS as exc:
        code = "truncated" if "truncated" in str(exc) or "incomplete" in str(exc) else "corrupt"
        raise PhotoRejected(code) from exc


def _normalise(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """A copy in sRGB as RGB, or RGBA when ``keep_alpha`` and some pixel is not opaque, with no
    metadata (``info`` emptied, so no EXIF, XMP, ICC profile or comment can be written again)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit grey: Pillow's direct conversion to L clips instead of scaling.
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    image = _to_srgb(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        alpha_min = rgba.getchannel("A").getextrema()[0]
        if keep_alpha and alpha_min < 255:
            result = rgba
        elif alpha_min < 255:
            result = _on_white(rgba)
        else:
            result = rgba.convert("RGB")
    else:
        result = image.convert("RGB")  # a copy even when already RGB
    result.info = {}
    return result


def _to_srgb(image: Image.Image) -> Image.Image:
    """The image converted from its embedded ICC profile to sRGB, or unchanged when it has no
    profile, a mode lcms cannot convert, or a profile lcms rejects (colours then stay as read)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        from PIL import ImageCms
    except ImportError:  # Pillow built without littlecms
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def _on_white(image: Image.Image) -> Image.Image:
    """An RGB copy of an image with transparency, composited on white as a viewer shows it."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    result = Image.alpha_composite(background, rgba).convert("RGB")
    result.info = {}
    return result


# --- EXIF -------------------------------------------------------------------------------------


def _safe_exif(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF, or None when it has none or it is too damaged to parse."""
    try:
        exif = image.getexif()
    except Exception:  # a malformed EXIF block must not reject an otherwise good photo
        return None
    return exif if exif else None


def _ifd(exif: Image.Exif, tag: int) -> Mapping[int, Any]:
    """A sub-IFD of ``exif`` (Exif or GPS), empty when absent or unreadable."""
    try:
        return exif.get_ifd(tag)
    except Exception:  # damaged offsets inside EXIF: treat the block as absent
        return {}


def _text(value: Any) -> str:
    """An EXIF ASCII value as a stripped str (Pillow gives str, some writers bytes)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 ") if value is not None else ""


_OFFSET_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _parse_exif_datetime(value: Any, offset: Any) -> datetime | None:
    """``YYYY:MM:DD HH:MM:SS`` with an optional ``±HH:MM`` offset as an aware datetime, or None.

    Without a usable offset the time is taken as local time in Asia/Shanghai. Blank and
    impossible values (``0000:00:00 00:00:00``, month 13) give None.
    """
    text = _text(value)[:19]
    try:
        naive = datetime.strptime(text.replace("-", ":"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    match = _OFFSET_RE.match(_text(offset))
    if match:
        sign = -1 if match[1] == "-" else 1
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        if delta <= timedelta(hours=14):
            return naive.replace(tzinfo=timezone(sign * delta))
    return naive.replace(tzinfo=LOCAL_TIME_ZONE)


def _exif_taken_at(exif: Image.Exif | None) -> datetime | None:
    """When the photo was taken: DateTimeOriginal with OffsetTimeOriginal, else the file's
    DateTime with OffsetTime, each interpreted in Asia/Shanghai when it carries no offset."""
    if exif is None:
        return None
    tags = ExifTags.Base
    sub = _ifd(exif, ExifTags.IFD.Exif)
    original = _parse_exif_datetime(
        sub.get(tags.DateTimeOriginal), sub.get(tags.OffsetTimeOriginal)
    )
    if original is not None:
        return original
    return _parse_exif_datetime(exif.get(tags.DateTime), sub.get(tags.OffsetTime))


def _degrees(value: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    """Degrees, minutes, seconds (or fewer parts) and an N/S or E/W reference as signed decimal
    degrees, or None when anything is missing, not finite or out of range."""
    if value is None:
        return None
    parts = value if isinstance(value, tuple | list) else (value,)
    try:
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(numbers) <= 3 or not all(math.isfinite(n) and n >= 0 for n in numbers):
        return None
    if any(n >= 60 for n in numbers[1:]):
        return None
    degrees = sum(n / 60**i for i, n in enumerate(numbers))
    if degrees > limit:
        return None
    direction = _text(ref).upper()[:1]
    if direction == negative:
        return -degrees
    if direction in (positive, ""):  # no reference: northern and eastern, like this district
        return degrees
    return None


def _exif_lon_lat(exif: Image.Exif | None) -> tuple[float | None, float | None]:
    """Longitude and latitude from the GPS IFD, or (None, None) when absent or implausible.

    Both must be present and in range; the exact (0, 0) of a receiver without a fix counts as
    absent.
    """
    if exif is None:
        return None, None
    gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    if not gps:
        return None, None
    tags = ExifTags.GPS
    lat = _degrees(gps.get(tags.GPSLatitude), gps.get(tags.GPSLatitudeRef), "N", "S", 90.0)
    lon = _degrees(gps.get(tags.GPSLongitude), gps.get(tags.GPSLongitudeRef), "E", "W", 180.0)
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None
    return lon, lat


# --- clean copies -----------------------------------------------------------------------------


def _has_transparency(image: Image.Image) -> bool:
    """Whether some pixel of the image is not fully opaque."""
    if image.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in image.info:
        return False
    return image.convert("RGBA").getchannel("A").getextrema()[0] < 255


def _rgb(image: Image.Image) -> Image.Image:
    """A metadata-free RGB copy, transparent parts shown on white."""
    if _has_transparency(image):
        return _on_white(image)
    result = image.convert("RGB")
    result.info = {}
    return result


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    """Encode a copy that carries nothing but pixels: ``info`` is emptied so Pillow writes no
    EXIF, XMP, ICC profile, comment or text chunk it may have kept from an input file."""
    bare = image.copy()
    bare.info = {}
    buffer = io.BytesIO()
    bare.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo_clean(image: Image.Image) -> tuple[bytes, str]:
    """Re-encode an upright image (as returned by :func:`photo_inspect`) without any metadata.

    The result is what is stored as the evidence original: a JPEG at quality 90 with extension
    ``"jpg"``, or a PNG with extension ``"png"`` when the image has real transparency (which only
    a PNG upload keeps). Nothing but pixels is written: no EXIF, XMP, ICC profile, comment or PNG
    text chunk. Returns the bytes and the extension.
    """
    if _has_transparency(image):
        return _encode(image.convert("RGBA"), "PNG", optimize=True), "png"
    return _encode(_rgb(image), "JPEG", quality=JPEG_QUALITY, optimize=True), "jpg"


def photo_thumbnail(image: Image.Image, *, size: int = 320) -> bytes:
    """A JPEG thumbnail that fits in ``size`` × ``size`` pixels, keeping the aspect ratio.

    The image is only ever scaled down (a small photo keeps its size), transparent parts are shown
    on white, and the file carries no metadata. ``size`` must be at least 1.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    thumb = _rgb(image)
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    return _encode(thumb, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)


def photo_display(image: Image.Image, *, lines: Sequence[str], max_side: int = 1600) -> bytes:
    """A watermarked JPEG for people to look at, scaled down to fit ``max_side`` × ``max_side``.

    As field cameras (水印相机) do for evidence, the bottom of the picture gets a semi-transparent
    dark band with ``lines`` of white text, e.g. the case number, the time and the place. The text
    is drawn with a CJK font found among ``GRIDCITY_PHOTO_FONT`` and :data:`FONT_CANDIDATES` (or
    Pillow's default font, which lacks Chinese glyphs, when none is installed), at a size
    proportional to the image width and shrunk if a line would not fit. Empty ``lines`` give no
    band. The file carries no metadata. ``max_side`` must be at least 1.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, not {max_side}")
    if isinstance(lines, str):
        lines = [lines]
    picture = _rgb(image)
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    texts = [str(line) for line in lines]
    if any(texts):
        _watermark(picture, texts)
    return _encode(picture, "JPEG", quality=DISPLAY_QUALITY, optimize=True)


def _watermark(picture: Image.Image, lines: Sequence[str]) -> None:
    """Darken a band at the bottom of an RGB image and write ``lines`` on it in white, in place."""
    width, height = picture.size
    size = max(WATERMARK_MIN_FONT_PX, round(width * WATERMARK_FONT_RATIO))
    margin = max(2, round(size * 0.5))
    font = _font(size)
    longest = max(font.getlength(line) for line in lines)
    if longest > width - 2 * margin and isinstance(font, ImageFont.FreeTypeFont):
        size = max(WATERMARK_MIN_FONT_PX, int(size * (width - 2 * margin) / longest))
        font = _font(size)
    line_height = round(size * 1.3)
    band_height = min(height, 2 * margin + line_height * len(lines))
    box = (0, height - band_height, width, height)
    band = picture.crop(box)
    dark = Image.new("RGB", band.size, (0, 0, 0))
    picture.paste(Image.blend(band, dark, WATERMARK_BAND_DARKNESS), box)
    draw = ImageDraw.Draw(picture)
    y = height - band_height + margin
    for line in lines:
        draw.text((margin, y), line, font=font, fill=(255, 255, 255))
        y += line_height


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The watermark font at ``size`` pixels: the first CJK candidate that loads, else Pillow's
    default font. Never raises for a missing or broken font file."""
    custom = _setting("GRIDCITY_PHOTO_FONT", None)
    candidates = (((str(custom), 0),) if custom else ()) + FONT_CANDIDATES
    found = font_path(candidates)
    if found is not None:
        try:
            return ImageFont.truetype(found[0], size, index=found[1])
        except OSError:
            font_path.cache_clear()  # the file went away: look again next time
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=8)
def font_path(candidates: tuple[tuple[str, int], ...] = FONT_CANDIDATES) -> tuple[str, int] | None:
    """The first ``(path, face index)`` among ``candidates`` that FreeType can load, or None.

    Cached, since the candidates are fixed for the life of a process; each call of
    :func:`photo_display` then loads only that one file.
    """
    for path, index in candidates:
        try:
            ImageFont.truetype(path, 12, index=index)
        except OSError:
            continue
        return path, index
    return None


# --- distance ---------------------------------------------------------------------------------


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS-84 points, longitude first.

    Uses the mean earth radius; off by at most about 0.5 % from the ellipsoidal distance, which
    is plenty for telling a photo taken at the case from one taken streets away.
    """
    return float(haversine_m(lon1, lat1, lon2, lat2))
