"""Abuse guards of the citizen portal's reports: rate limits, a captcha, spam markers.

The report page and the report API call them in this order:

1. ``report_guard(request, phone=…, anonymous=…, captcha_key=…, captcha_answer=…)`` once the
   input is valid, right before the report is stored. It refuses with a ``ReportRefused``
   (a ``DomainError``: 429 ``rate_limited``, 400 ``captcha_required`` / ``captcha_invalid``)
   and counts nothing. Call it outside ``transaction.atomic``: a captcha refusal carries a new
   challenge, a row that must outlive the rollback of the refused request.
2. The service that stores the report, holding it for moderation when ``spam_markers(text)``
   finds any.
3. ``report_accepted(request, phone=…)``, after the report is stored: only accepted reports
   count, so a refused one never uses up anybody's allowance.

Counting is django-ratelimit's (``get_usage``) on the default cache: Redis in production
(atomic INCR, shared by every process), one process's memory on the embedded default. Its
windows are fixed (an hour, a day), each key's shifted by a hash of the key so that they do
not all end together; a burst across a window's end can reach twice the limit. Checking and
counting are two steps, so reports arriving at the same instant may pass one over. The cache
keys hold no address or phone number: only an HMAC of them under ``SECRET_KEY``.

The captcha is django-simple-captcha's: a challenge is a database row, its image is drawn by
Pillow on this server (no outside service, so it works on a closed network), and it takes one
answer, right or wrong.
"""

import ipaddress
import logging
import math
import re
import unicodedata
from dataclasses import dataclass

from captcha.helpers import captcha_image_url
from captcha.models import CaptchaStore
from captcha.validators import captcha_validate
from django.conf import settings
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_ratelimit.core import get_usage
from rest_framework.exceptions import ValidationError

from gridcity.errors import DomainError, ErrorAnswer

logger = logging.getLogger(__name__)

ADDRESS_GROUP = "portal.report.address"
PHONE_GROUP = "portal.report.phone"
# Clients on IPv6 are counted by their /64: one subscriber line gets a whole /64 and may use any
# address in it, as django-ratelimit's own RATELIMIT_IPV6_MASK assumes.
IPV6_PREFIX = 64


# --- Errors -----------------------------------------------------------------------------------


class ReportRefused(DomainError):
    """A report refused before it is stored (rate limit or captcha); catch this one on a page."""


class ReportRateLimited(ReportRefused):
    """429 ``rate_limited``: the client's address (``limit="address"``) or the phone
    (``limit="phone"``, naming the field ``phone``) used up its allowance; ``Retry-After``
    and ``retry_after`` say in how many seconds its window ends."""

    status = 429
    code = "rate_limited"

    def __init__(self, *, limit: str, retry_after: int):
        super().__init__(f"{limit} over its limit for {retry_after} s")
        self.limit = limit
        self.retry_after = retry_after

    def answer(self) -> ErrorAnswer:
        minutes = max(1, math.ceil(self.retry_after / 60))
        if self.limit == "phone":
            message = ngettext(
                "Too many reports with this phone number in a day. "
                "Try again in %(minutes)d minute.",
                "Too many reports with this phone number in a day. "
                "Try again in %(minutes)d minutes.",
                minutes,
            )
        else:
            message = ngettext(
                "Too many reports from your network this hour. Try again in %(minutes)d minute.",
                "Too many reports from your network this hour. Try again in %(minutes)d minutes.",
                minutes,
            )
        message %= {"minutes": minutes}
        return ErrorAnswer(
            self.status,
            self.code,
            message,
            {"phone": [message]} if self.limit == "phone" else None,
            extra={"retry_after": self.retry_after},
            headers={"Retry-After": str(self.retry_after)},
        )


class ReportCaptchaRefused(ReportRefused):
    """400 ``captcha_required`` (no answer) or ``captcha_invalid`` (a wrong, expired or used
    one) naming the field ``captcha``; the body's ``captcha`` holds a new challenge (``key``,
    ``image_url``) for the client to show."""

    def __init__(self, *, code: str, challenge: dict):
        super().__init__(code.replace("_", " "), code=code)
        self.challenge = challenge

    def answer(self) -> ErrorAnswer:
        if self.code == "captcha_required":
            message = _("Type the characters shown in the picture.")
        else:
            message = _("The characters did not match the picture. Type those of the new one.")
        return ErrorAnswer(
            self.status,
            self.code,
            message,
            {"captcha": [message]},
            extra={"captcha": self.challenge},
        )


# --- The client's address and phone -----------------------------------------------------------


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or, behind ``GRIDCITY_TRUSTED_PROXIES`` proxies
    (a count, as for the log-in lockouts; see docs/deployment.md), the hop of X-Forwarded-For
    the farthest trusted proxy appended. The hops to its left are whatever the client wrote
    and are never believed; a malformed hop there falls back to ``REMOTE_ADDR``."""
    meta = getattr(request, "_request", request).META  # a DRF request, or Django's
    remote = meta.get("REMOTE_ADDR", "") or ""
    trusted = settings.GRIDCITY_TRUSTED_PROXIES
    if trusted <= 0:
        return remote
    forwarded = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in forwarded if hop] + [remote]
    # The last `trusted` hops are the proxies, REMOTE_ADDR the nearest. A chain shorter than
    # that was written by the proxies alone, so its first hop is still one of theirs to trust.
    client = hops[max(len(hops) - trusted - 1, 0)]
    return client if _is_address(client) else remote


def normalise_phone(phone: str) -> str:
    """The phone number as counted: full-width digits made plain, spaces, dashes, dots and
    brackets dropped, and a mainland mobile's country code (+86, 0086, 86) taken off."""
    number = re.sub(r"[\s\-().]", "", unicodedata.normalize("NFKC", phone or ""))
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            number = number[len(prefix) :]
            break
    else:
        if len(number) == 13 and number.startswith("861"):
            number = number[2:]
    return number


def _address_bucket(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped is not None:  # a dual-stack socket's IPv4
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False).network_address)
    return str(parsed)


def _keyed(kind: str, value: str) -> str:
    """What the cache key is made of: an HMAC under SECRET_KEY, never the address or phone."""
    return salted_hmac(f"gridcity.portal.abuse.{kind}", value, algorithm="sha256").hexdigest()


# --- Counters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Counter:
    group: str
    value: str
    limit: int  # 0 or less: no limit (the reports are still counted)
    period: str  # django-ratelimit's unit: "h" or "d"

    def usage(self, request, *, increment: bool = False) -> dict | None:
        """django-ratelimit's usage (``count``, ``time_left``), or None when it cannot be read:
        RATELIMIT_ENABLE off, or the cache down (logged; the guard then falls back on the
        captcha, which lives in the database)."""
        try:
            return get_usage(
                request,
                group=self.group,
                key=lambda _group, _request: self.value,
                rate=f"{max(self.limit, 0)}/{self.period}",
                increment=increment,
            )
        except Exception:
            logger.warning("report counter %s unavailable", self.group, exc_info=True)
            return None

    def over(self, usage: dict | None) -> bool:
        return self.limit > 0 and usage is not None and usage["count"] >= self.limit


def _address_counter(request) -> _Counter:
    value = _keyed("address", _address_bucket(client_address(request)))
    return _Counter(ADDRESS_GROUP, value, settings.GRIDCITY_REPORTS_PER_ADDRESS_HOUR, "h")


def _phone_counter(phone: str) -> _Counter | None:
    number = normalise_phone(phone)
    if not number:
        return None
    value = _keyed("phone", number)
    return _Counter(PHONE_GROUP, value, settings.GRIDCITY_REPORTS_PER_PHONE_DAY, "d")


def _retry_after(usage: dict) -> int:
    # django-ratelimit's window still holds at its last second (time_left 0): one more.
    return max(int(usage["time_left"]) + 1, 1)


# --- The guard --------------------------------------------------------------------------------


def _captcha_due(address_usage: dict | None) -> bool:
    if address_usage is None:  # the counts are unknown: a person can still answer a captcha
        return True
    return address_usage["count"] >= settings.GRIDCITY_CAPTCHA_AFTER


def captcha_needed(request) -> bool:
    """Whether an anonymous report from this client needs a captcha now: the address has had
    ``GRIDCITY_CAPTCHA_AFTER`` reports accepted in its hour (of any kind: a named report
    counts too, so naming oneself first does not earn captcha-free anonymous reports)."""
    return _captcha_due(_address_counter(request).usage(request))


def captcha_challenge() -> dict:
    """A new challenge: its ``key`` (sent back with the answer) and ``image_url`` (a PNG)."""
    key = CaptchaStore.generate_key()
    return {"key": key, "image_url": captcha_image_url(key)}


def _captcha_check(key: str, answer: str) -> None:
    key, answer = (key or "").strip(), (answer or "").strip()
    if not key or not answer:
        raise ReportCaptchaRefused(code="captcha_required", challenge=captcha_challenge())
    try:
        # One answer per challenge: the library deletes it, right or wrong, so it cannot be
        # guessed at; expired challenges are swept on the way.
        captcha_validate(key, answer)
    except ValidationError:
        raise ReportCaptchaRefused(code="captcha_invalid", challenge=captcha_challenge()) from None


def report_guard(
    request,
    *,
    phone: str = "",
    anonymous: bool,
    captcha_key: str = "",
    captcha_answer: str = "",
) -> None:
    """Refuse a report the client may not make now, counting nothing.

    429 ``rate_limited`` when the address has had ``GRIDCITY_REPORTS_PER_ADDRESS_HOUR``
    reports accepted in its hour or the phone ``GRIDCITY_REPORTS_PER_PHONE_DAY`` in its day;
    then, for an ``anonymous`` report when ``captcha_needed``, 400 ``captcha_required`` (no
    answer) or ``captcha_invalid`` (a wrong, expired or used one), each with a new challenge.
    A right answer uses its challenge up. Call it outside ``transaction.atomic``.
    """
    address = _address_counter(request)
    address_usage = address.usage(request)
    if address.over(address_usage):
        raise ReportRateLimited(limit="address", retry_after=_retry_after(address_usage))
    phone_counter = _phone_counter(phone)
    if phone_counter is not None:
        phone_usage = phone_counter.usage(request)
        if phone_counter.over(phone_usage):
            raise ReportRateLimited(limit="phone", retry_after=_retry_after(phone_usage))
    if anonymous and _captcha_due(address_usage):
        _captcha_check(captcha_key, captcha_answer)


def report_accepted(request, *, phone: str = "") -> None:
    """Count one stored report against the client's address and the phone (if any). Call it
    only after the report is stored, so that refused reports count for nothing."""
    counters = [_address_counter(request), _phone_counter(phone)]
    for counter in counters:
        if counter is not None:
            counter.usage(request, increment=True)


# --- Spam markers -----------------------------------------------------------------------------


class SpamMarker(models.TextChoices):
    """Why a report is held for moderation; the codes are stored with it."""

    LINK = "link", gettext_lazy("a web link")
    REPEATED_CHARACTER = "repeated_character", gettext_lazy("a long run of one character")
    PHONE_NUMBERS = "phone_numbers", gettext_lazy("several phone numbers")
    QQ_ID = "qq_id", gettext_lazy("a QQ number")
    WECHAT_ID = "wechat_id", gettext_lazy("a WeChat id")
    BLOCKED_WORD = "blocked_word", gettext_lazy("a blocked word")


# The text is NFKC-normalised first: full-width letters, digits and colons become plain ones.
_LINK = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|(?<![a-z0-9-])[a-z0-9][a-z0-9-]*\.(?:com|cn|net|org|top|xyz|vip|cc|info|me|site|club|"
    r"shop|icu|app|link|online|ltd)(?![a-z0-9])",
    re.IGNORECASE,
)
# Ten of one character: "!!!!!!!!!!", "哈哈…" of one glyph; whitespace does not count.
_RUN = re.compile(r"(\S)\1{9,}")
# A mainland mobile number, perhaps with +86 and spaces or dashes between its digits.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9](?:[\s-]?\d){9})(?!\d)")
_QQ = re.compile(r"(?:qq|扣扣|企鹅)(?:群|号码?)?\s*:?\s*[1-9]\d{4,10}(?!\d)", re.IGNORECASE)
_WECHAT = re.compile(
    r"(?<![a-z])(?:微信|威信|薇信|徽信|weixin|wechat|vx|v信|wx)号?\s*:?\s*"
    r"(?:[a-z][-_a-z0-9]{5,19}|1[3-9]\d{9})",
    re.IGNORECASE,
)
# One number in the text is ordinary (the shop's, a neighbour's); more is advertising.
MAX_PHONE_NUMBERS = 1


def _blocked_word(text: str) -> bool:
    words = (unicodedata.normalize("NFKC", w).casefold() for w in settings.GRIDCITY_SPAM_WORDS)
    folded = text.casefold()
    return any(word.strip() and word.strip() in folded for word in words)


def spam_markers(text: str) -> list[str]:
    """The codes (``SpamMarker``) of the spam markers in ``text``, in a fixed order; any at
    all hold the report for moderation. Words come from ``GRIDCITY_SPAM_WORDS``."""
    text = unicodedata.normalize("NFKC", text or "")
    phones = {re.sub(r"\D", "", number) for number in _MOBILE.findall(text)}
    found = {
        SpamMarker.LINK: _LINK.search(text),
        SpamMarker.REPEATED_CHARACTER: _RUN.search(text),
        SpamMarker.PHONE_NUMBERS: len(phones) > MAX_PHONE_NUMBERS,
        SpamMarker.QQ_ID: _QQ.search(text),
        SpamMarker.WECHAT_ID: _WECHAT.search(text),
        SpamMarker.BLOCKED_WORD: _blocked_word(text),
    }
    return [marker.value for marker, hit in found.items() if hit]


def captcha_challenges_expired_purge() -> int:
    """Delete the challenges whose time ran out (shown on a page, never answered); how many.
    Run by beat every hour: anyone may cause a challenge row, so they must not pile up."""
    from django.utils import timezone

    expired = CaptchaStore.objects.filter(expiration__lte=timezone.now())
    return expired.delete()[0]
