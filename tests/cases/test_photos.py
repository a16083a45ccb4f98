"""cases.photos: what an upload must be, the facts read from it, and clean copies without metadata.

No database and no files on disk: every photo is drawn here with Pillow.
"""

import hashlib
import io
import os
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageChops, ImageFile, ImageStat

from cases import photos
from cases.photos import (
    PhotoFacts,
    PhotoRejected,
    distance_m,
    photo_clean,
    photo_display,
    photo_inspect,
    photo_thumbnail,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 新安街道 office, Bao'an: 22°33'11.16" N, 113°52'58.8" E.
LAT_DMS = (22.0, 33.0, 11.16)
LON_DMS = (113.0, 52.0, 58.8)
LAT, LON = 22.5531, 113.8830
WATERMARK = ["440306-20261122-000123", "2026-11-22 14:05", "新安街道 · 22.5531, 113.8830"]


# --- photos drawn in code -----------------------------------------------------------------------


def scene(size=(640, 480)) -> Image.Image:
    """A smooth, photo-like RGB picture: colour gradients, no flat areas, no sharp noise."""
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.radial_gradient("L").resize(size)
    return Image.merge("RGB", (red, green, blue)).resize((width, height))


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gps_exif(
    lat=LAT_DMS,
    lat_ref="N",
    lon=LON_DMS,
    lon_ref="E",
    taken="2026:11:22 14:05:07",
    offset: str | None = "+08:00",
    orientation: int | None = None,
) -> Image.Exif:
    """EXIF as a phone writes it: make, file time, original time with offset, GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "GridCam"
    exif[ExifTags.Base.Model] = "SN-0042-SECRET"
    exif[ExifTags.Base.DateTime] = "2026:11:23 09:00:00"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if lat is not None:
        gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        gps[ExifTags.GPS.GPSLatitude] = lat
    if lon is not None:
        gps[ExifTags.GPS.GPSLongitudeRef] = lon_ref
        gps[ExifTags.GPS.GPSLongitude] = lon
    return exif


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width × height RGB pixels, followed by one tiny IDAT: a few
    dozen bytes that would need width × height × 3 bytes of memory once decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any pixel data is decoded."""

    def refuse(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.fixture
def no_opening(monkeypatch):
    """Fail the test if Pillow is even asked to open the upload."""

    def refuse(*args, **kwargs):
        raise AssertionError("Pillow opened the upload")

    monkeypatch.setattr(Image, "open", refuse)


def assert_no_metadata(data: bytes) -> Image.Image:
    """Re-open written bytes and check they carry pixels and nothing else."""
    image = Image.open(io.BytesIO(data))
    image.load()
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop"):
        assert key not in image.info, key
    assert not image.getexif()
    assert b"Exif" not in data
    assert b"GridCam" not in data and b"SN-0042-SECRET" not in data
    assert b"2026:11:2" not in data  # neither EXIF date
    return image


def rational_bytes(value: float) -> bytes:
    """A GPS number as Pillow stores it in EXIF: the simplest fraction, big-endian."""
    fraction = Fraction(value).limit_denominator(1000)
    return struct.pack(">II", fraction.numerator, fraction.denominator)


# --- accepted photos ------------------------------------------------------------------------


def test_a_normal_jpeg_is_accepted_with_its_facts():
    data = encode(scene((640, 480)), quality=92)

    image, facts = photo_inspect(data)

    assert facts == PhotoFacts(
        format="JPEG",
        width=640,
        height=480,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        taken_at=None,
        lon=None,
        lat=None,
    )
    assert (image.mode, image.size) == ("RGB", (640, 480))
    assert image.info == {}


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_accepted_too(fmt):
    image, facts = photo_inspect(encode(scene((300, 200)), fmt))

    assert facts.format == fmt
    assert (facts.width, facts.height) == (300, 200)
    assert image.mode == "RGB"


def test_sha256_is_that_of_the_upload_as_received():
    data = encode(scene((64, 48)), "PNG")

    _, facts = photo_inspect(data)

    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.bytes == len(data)


def test_the_file_name_and_content_type_of_the_upload_play_no_part():
    upload = SimpleUploadedFile("evidence.gif", encode(scene((32, 32)), "PNG"), "image/gif")

    _, facts = photo_inspect(upload.read())

    assert facts.format == "PNG"


def test_a_16_bit_grey_png_keeps_its_tones_instead_of_turning_white():
    ramp = Image.linear_gradient("L").resize((64, 64)).convert("I").point(lambda v: v * 257)
    data = encode(ramp.convert("I;16"), "PNG")

    image, _ = photo_inspect(data)

    assert image.mode == "RGB"
    assert image.getpixel((0, 0))[0] < 10
    assert 100 < image.getpixel((0, 32))[0] < 160
    assert image.getpixel((0, 63))[0] > 245


def test_a_cmyk_jpeg_comes_out_rgb():
    image, _ = photo_inspect(encode(Image.new("CMYK", (50, 50), (0, 255, 255, 0))))

    assert image.mode == "RGB"
    assert image.getpixel((5, 5))[0] > 240


def test_a_broken_icc_profile_does_not_reject_the_photo():
    data = encode(Image.new("RGB", (20, 20), (200, 30, 30)), icc_profile=b"not a profile" * 20)

    image, _ = photo_inspect(data)

    assert image.getpixel((5, 5)) == pytest.approx((200, 30, 30), abs=4)


# --- refused uploads --------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_without_decoding_a_pixel(no_decoding):
    data = png_header_only(20_000, 20_000)  # 400 megapixels in a few dozen bytes
    assert len(data) < 200

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data)

    assert caught.value.code == "too_many_pixels"


def test_a_header_just_over_the_pixel_limit_is_refused_without_decoding(no_decoding):
    # 42 megapixels: over the 40 megapixel limit, under Pillow's own bomb threshold.
    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(png_header_only(7_000, 6_000))

    assert caught.value.code == "too_many_pixels"


def test_a_real_solid_colour_bomb_is_small_on_disk_but_refused():
    data = encode(Image.new("L", (8_000, 6_000), 200), "PNG", optimize=True)
    assert len(data) < 200_000

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data)

    assert caught.value.code == "too_many_pixels"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pillows_bomb_warning_zone_is_refused_when_our_limit_is_set_higher(settings, monkeypatch):
    settings.GRIDCITY_PHOTO_MAX_PIXELS = 10_000_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # warns above 1 000, raises above 2 000
    data = encode(scene((40, 40)), "PNG")  # 1 600 pixels: Pillow only warns

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data)

    assert caught.value.code == "too_many_pixels"


def test_pillows_global_pixel_limit_is_left_as_it_was():
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(PhotoRejected):
        photo_inspect(png_header_only(20_000, 20_000))
    assert before == Image.MAX_IMAGE_PIXELS


def test_a_jpeg_cut_in_half_is_refused_as_truncated():
    data = encode(scene((800, 600)), quality=95)

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data[: len(data) // 2])

    assert caught.value.code == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_png_cut_in_half_is_refused_as_truncated():
    data = encode(Image.effect_noise((300, 300), 80).convert("RGB"), "PNG")

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data[: len(data) // 2])

    assert caught.value.code == "truncated"


def test_a_webp_cut_in_half_is_refused_as_truncated():
    data = encode(Image.effect_noise((300, 300), 80).convert("RGB"), "WEBP")

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data[: len(data) // 2])

    assert caught.value.code == "truncated"


def test_photos_are_refused_while_pillow_is_told_to_accept_truncated_files(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = encode(scene((800, 600)))

    with pytest.raises(ImproperlyConfigured, match="LOAD_TRUNCATED_IMAGES"):
        photo_inspect(data[: len(data) // 2])


def test_a_pdf_named_photo_jpg_is_not_an_image():
    upload = SimpleUploadedFile(
        "photo.jpg", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "image/jpeg"
    )

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(upload.read())

    assert caught.value.code == "not_an_image"


def test_an_empty_upload_is_not_an_image():
    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(b"")

    assert caught.value.code == "not_an_image"


def test_twelve_megabytes_are_refused_as_too_large_before_pillow_sees_them(no_opening):
    data = b"\xff\xd8\xff\xe0" + bytes(12 * 1024 * 1024)

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data)

    assert caught.value.code == "too_large"
    assert caught.value.params == {"size": "12.0 MB", "limit": "10.0 MB"}


def test_the_byte_limit_follows_the_django_setting(settings):
    settings.GRIDCITY_PHOTO_MAX_BYTES = 1_000
    data = encode(scene((200, 200)), quality=95)
    assert len(data) > 1_000

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data)

    assert caught.value.code == "too_large"


def test_the_setting_can_narrow_the_formats_but_not_widen_them(settings):
    settings.GRIDCITY_PHOTO_FORMATS = ["JPEG"]
    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(encode(scene((32, 32)), "PNG"))
    assert (caught.value.code, caught.value.params) == ("unsupported_format", {"format": "PNG"})

    settings.GRIDCITY_PHOTO_FORMATS = ["JPEG", "GIF"]
    with pytest.raises(ImproperlyConfigured, match="GIF"):
        photo_inspect(encode(scene((32, 32))))


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF")],
)
def test_other_image_formats_are_refused_as_unsupported(fmt, name):
    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(encode(scene((64, 64)), fmt))

    assert caught.value.code == "unsupported_format"
    assert caught.value.params == {"format": name}


def test_a_heic_header_is_refused_as_unsupported():
    data = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(64)

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data)

    assert caught.value.code == "unsupported_format"
    assert caught.value.params == {"format": "HEIC"}


def test_a_jpeg_with_garbage_after_its_header_is_refused():
    data = encode(scene((200, 200)))

    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(data[:400] + b"\xff" * 50 + bytes(2000))

    assert caught.value.code in {"corrupt", "truncated"}


def test_the_refusal_message_is_human_and_english_in_tests():
    with pytest.raises(PhotoRejected) as caught:
        photo_inspect(encode(scene((32, 32)), "GIF"))

    assert str(caught.value) == "GIF images are not accepted; send the photo as JPEG, PNG or WebP."
    assert isinstance(caught.value, ValueError)


# --- EXIF facts -------------------------------------------------------------------------------


def test_exif_gps_and_time_become_facts():
    _, facts = photo_inspect(encode(scene(), exif=gps_exif()))

    assert facts.lat == pytest.approx(LAT, abs=1e-9)
    assert facts.lon == pytest.approx(LON, abs=1e-9)
    assert facts.taken_at == datetime(2026, 11, 22, 14, 5, 7, tzinfo=SHANGHAI)
    assert facts.taken_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("lat_ref", "lon_ref", "sign_lat", "sign_lon"),
    [("S", "E", -1, 1), ("N", "W", 1, -1), ("S", "W", -1, -1)],
)
def test_south_and_west_are_negative(lat_ref, lon_ref, sign_lat, sign_lon):
    _, facts = photo_inspect(encode(scene(), exif=gps_exif(lat_ref=lat_ref, lon_ref=lon_ref)))

    assert facts.lat == pytest.approx(sign_lat * LAT)
    assert facts.lon == pytest.approx(sign_lon * LON)


@pytest.mark.parametrize(
    "gps",
    [
        {"lat": (95.0, 0.0, 0.0)},  # beyond the pole
        {"lon": (181.0, 0.0, 0.0)},
        {"lat": (22.0, 75.0, 0.0)},  # 75 minutes
        {"lat": (0.0, 0.0, 0.0), "lon": (0.0, 0.0, 0.0)},  # a receiver without a fix
        {"lat_ref": "X"},
        {"lon": None},  # latitude alone
    ],
)
def test_nonsense_gps_values_give_no_position(gps):
    _, facts = photo_inspect(encode(scene(), exif=gps_exif(**gps)))

    assert (facts.lon, facts.lat) == (None, None)


def test_a_time_with_its_own_offset_keeps_it():
    _, facts = photo_inspect(encode(scene(), exif=gps_exif(offset="-05:00")))

    assert facts.taken_at == datetime(2026, 11, 22, 14, 5, 7, tzinfo=timezone(-timedelta(hours=5)))


def test_a_time_without_offset_is_shanghai_time():
    _, facts = photo_inspect(encode(scene(), exif=gps_exif(offset=None)))

    assert facts.taken_at == datetime(2026, 11, 22, 14, 5, 7, tzinfo=SHANGHAI)
    assert facts.taken_at.utcoffset() == timedelta(hours=8)


def test_without_original_time_the_file_time_is_used():
    _, facts = photo_inspect(encode(scene(), exif=gps_exif(taken=None, offset=None)))

    assert facts.taken_at == datetime(2026, 11, 23, 9, 0, 0, tzinfo=SHANGHAI)


def test_a_blank_camera_clock_gives_no_time():
    exif = gps_exif(taken="0000:00:00 00:00:00")
    exif[ExifTags.Base.DateTime] = "    :  :     :  :  "

    _, facts = photo_inspect(encode(scene(), exif=exif))

    assert facts.taken_at is None


def test_exif_orientation_6_turns_a_200_by_100_photo_upright():
    stored = Image.new("RGB", (200, 100), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 40, 40))  # red in the stored top-left corner
    data = encode(stored, quality=95, exif=gps_exif(orientation=6))

    image, facts = photo_inspect(data)

    assert image.size == (100, 200)
    assert (facts.width, facts.height) == (100, 200)
    # Orientation 6 is shown turned 90° clockwise: the stored top-left is now top-right.
    top_right, top_left = image.getpixel((90, 10)), image.getpixel((10, 10))
    assert top_right[0] > 200 and top_right[2] < 60  # red
    assert top_left[0] < 60 and top_left[2] > 200  # blue


# --- clean copies -----------------------------------------------------------------------------


def test_clean_thumbnail_and_display_copies_carry_no_exif_or_gps():
    exif = gps_exif()
    upload = encode(scene((1200, 900)), exif=exif, comment=b"GridCam comment")
    assert exif.tobytes() in upload and rational_bytes(LAT_DMS[2]) in upload  # the test's premise
    image, _ = photo_inspect(upload)

    cleaned, extension = photo_clean(image)
    outputs = [cleaned, photo_thumbnail(image), photo_display(image, lines=WATERMARK)]

    assert extension == "jpg"
    for data in outputs:
        assert data[:3] == b"\xff\xd8\xff"
        assert_no_metadata(data)
        assert exif.tobytes() not in data
        assert rational_bytes(LAT_DMS[2]) not in data
        assert rational_bytes(LON_DMS[2]) not in data


def test_a_png_with_text_chunks_and_icc_profile_is_cleaned_of_them():
    from PIL import ImageCms, PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "GridCam")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>SN-0042-SECRET</x:xmpmeta>")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    upload = encode(scene((100, 80)), "PNG", pnginfo=text, icc_profile=icc, exif=gps_exif())
    image, facts = photo_inspect(upload)
    assert facts.lat == pytest.approx(LAT)

    cleaned, extension = photo_clean(image)

    assert extension == "jpg"  # opaque, so a photo again
    assert_no_metadata(cleaned)
    assert b"iCCP" not in cleaned and b"tEXt" not in cleaned and b"iTXt" not in cleaned


def test_clean_keeps_a_jpeg_at_full_size_and_quality():
    image, _ = photo_inspect(encode(scene((640, 480)), quality=95))

    cleaned, extension = photo_clean(image)

    again = Image.open(io.BytesIO(cleaned))
    assert (extension, again.format, again.size) == ("jpg", "JPEG", (640, 480))
    difference = ImageStat.Stat(ImageChops.difference(again.convert("RGB"), image)).mean
    assert max(difference) < 3


def test_a_png_with_transparency_stays_a_png_with_alpha():
    drawing = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    drawing.paste((255, 0, 0, 255), (20, 20, 60, 60))
    image, facts = photo_inspect(encode(drawing, "PNG"))
    assert (facts.format, image.mode) == ("PNG", "RGBA")

    cleaned, extension = photo_clean(image)

    again = assert_no_metadata(cleaned)
    assert (extension, again.format, again.mode) == ("png", "PNG", "RGBA")
    assert again.getpixel((0, 0))[3] == 0
    assert again.getpixel((30, 30)) == (255, 0, 0, 255)


def test_an_opaque_rgba_png_becomes_an_rgb_jpeg():
    image, _ = photo_inspect(encode(scene((60, 40)).convert("RGBA"), "PNG"))

    assert image.mode == "RGB"
    assert photo_clean(image)[1] == "jpg"


def test_the_thumbnail_fits_in_320_and_keeps_the_aspect_ratio():
    image, _ = photo_inspect(encode(scene((1000, 600))))

    thumb = assert_no_metadata(photo_thumbnail(image))

    assert thumb.format == "JPEG"
    assert thumb.size == (320, 192)


def test_a_small_photo_is_not_blown_up_for_its_thumbnail():
    image, _ = photo_inspect(encode(scene((200, 100))))

    thumb = Image.open(io.BytesIO(photo_thumbnail(image, size=320)))

    assert thumb.size == (200, 100)


def test_a_portrait_thumbnail_fits_by_its_height():
    image, _ = photo_inspect(encode(scene((600, 1000))))

    thumb = Image.open(io.BytesIO(photo_thumbnail(image, size=100)))

    assert thumb.size == (60, 100)


def test_the_display_copy_is_scaled_to_max_side():
    image, _ = photo_inspect(encode(scene((2000, 1500))))

    display = assert_no_metadata(photo_display(image, lines=WATERMARK))

    assert display.format == "JPEG"
    assert display.size == (1600, 1200)


def test_the_display_copy_has_a_dark_band_with_light_text_at_the_bottom_only():
    image, _ = photo_inspect(encode(scene((1600, 1200)), quality=95))

    display = Image.open(io.BytesIO(photo_display(image, lines=WATERMARK))).convert("RGB")

    top = (0, 0, 1600, 800)
    top_difference = ImageStat.Stat(ImageChops.difference(display.crop(top), image.crop(top)))
    assert max(top_difference.mean) < 3  # only JPEG noise above the band
    bottom = (0, 1120, 1600, 1200)
    band = ImageStat.Stat(display.crop(bottom).convert("L"))
    original = ImageStat.Stat(image.crop(bottom).convert("L"))
    assert band.median[0] < original.median[0] * 0.6  # darkened
    assert band.extrema[0][1] > 230  # white text on it


def test_the_display_band_grows_with_the_number_of_lines():
    image, _ = photo_inspect(encode(Image.new("RGB", (800, 600), (200, 200, 200))))

    def band_height(lines):
        display = Image.open(io.BytesIO(photo_display(image, lines=lines))).convert("L")
        column = [display.getpixel((795, y)) for y in range(600)]
        return sum(1 for value in column if value < 150)

    assert band_height([]) == 0
    assert 0 < band_height(WATERMARK[:1]) < band_height(WATERMARK)


def test_the_watermark_uses_the_installed_cjk_font():
    if not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists():
        pytest.skip("fonts-wqy-microhei is not installed")
    assert photos.font_path() == ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0)


def test_the_watermark_falls_back_to_pillows_font_without_cjk_fonts(settings, monkeypatch):
    settings.GRIDCITY_PHOTO_FONT = "/nonexistent/font.ttf"
    monkeypatch.setattr(photos, "FONT_CANDIDATES", (("/nonexistent/other.ttc", 0),))
    image, _ = photo_inspect(encode(scene((640, 480))))

    display = Image.open(io.BytesIO(photo_display(image, lines=WATERMARK)))

    assert display.size == (640, 480)


def test_the_watermark_survives_a_tiny_photo_and_long_lines():
    image, _ = photo_inspect(encode(scene((40, 30))))

    display = Image.open(io.BytesIO(photo_display(image, lines=[*WATERMARK, "很长" * 100])))

    assert display.size == (40, 30)


def test_a_transparent_png_is_shown_on_white_in_thumbnails_and_display():
    image, _ = photo_inspect(encode(Image.new("RGBA", (100, 100), (0, 0, 0, 0)), "PNG"))

    thumb = Image.open(io.BytesIO(photo_thumbnail(image))).convert("RGB")
    display = Image.open(io.BytesIO(photo_display(image, lines=[]))).convert("RGB")

    assert thumb.getpixel((50, 50)) >= (250, 250, 250)
    assert display.getpixel((50, 50)) >= (250, 250, 250)


# --- distance from the case -------------------------------------------------------------------


def test_distance_m_matches_a_known_length():
    # One degree of latitude on the mean sphere.
    assert distance_m(113.883, 22.0, 113.883, 23.0) == pytest.approx(111_195, abs=1)
    assert distance_m(LON, LAT, LON, LAT) == 0


def test_a_photo_a_few_streets_from_the_case_is_hundreds_of_metres_away():
    assert distance_m(LON, LAT, LON + 0.003, LAT) == pytest.approx(308, rel=0.01)
    assert distance_m(LON, LAT, LON + 0.006, LAT) == pytest.approx(617, rel=0.01)


def test_exif_position_feeds_the_distance_check():
    _, facts = photo_inspect(encode(scene(), exif=gps_exif()))

    assert distance_m(facts.lon, facts.lat, LON, LAT) < 1
    assert distance_m(facts.lon, facts.lat, LON, LAT + 0.01) == pytest.approx(1_112, rel=0.01)


# --- without Django settings ------------------------------------------------------------------


def test_the_module_works_in_a_script_without_django_settings():
    script = """
import io
from PIL import Image
from cases.photos import PhotoRejected, photo_clean, photo_inspect
buffer = io.BytesIO()
Image.new("RGB", (30, 20), "green").save(buffer, "JPEG")
image, facts = photo_inspect(buffer.getvalue())
assert (facts.width, facts.height) == (30, 20), facts
assert photo_clean(image)[1] == "jpg"
try:
    photo_inspect(b"%PDF-1.4")
except PhotoRejected as exc:
    print(exc.code)
"""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "not_an_image"
