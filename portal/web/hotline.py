"""/hotline/: the 12345 hotline console (热线受理台).

- ``/hotline/``: the intake of a call (受理): the caller's number and name, the request type,
  the place (a map click, a work grid's code, the address as said), the item, the
  description. While the operator types, the side panels show the caller's earlier tickets
  (by phone), the open cases of the same item nearby with a 并单 button each, and the
  knowledge base with a 直接办结 button per answer (``/hotline/panel/?part=…``, HTML
  fragments the console's script loads; without the script, "Look up" reloads the page with
  the same panels).
- ``/hotline/merge/<number>/``: 并单, the caller follows the open case instead of a new one.
- ``/hotline/answer/``: 直接办结, a consultation answered from the knowledge base.
- ``/hotline/callbacks/``: the callback queue (回访), oldest due first, cursor-paged, with the
  verdict form per case (``/hotline/callbacks/<number>/``); 不满意 reopens the case.
- ``/hotline/day/``: the operator's day (Asia/Shanghai).

A page here reads through ``portal.selectors`` and writes through ``portal.services`` and
``cases.services``; who may open it is ``accounts.policy.may_take_calls``.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.gis.db.models import Extent
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts import policy
from cases import codes, services
from cases.calendar import calendar_current
from cases.models import Case, Item, RequestType, Satisfaction
from cases.selectors import cases_visible_to
from gridcity.api.pagination import CursorPagination
from gridcity.errors import DomainError, FieldInvalid
from gridcity.models import District
from gridcity.pages import page_for
from portal import selectors
from portal.models import KnowledgeEntry
from portal.services import call_answer, call_merge, call_take

PARTS = ("callers", "nearby", "knowledge")
UNIT_WORDS = {
    "work_days": gettext_lazy("working days"),
    "work_hours": gettext_lazy("working hours"),
    "clock_hours": gettext_lazy("hours"),
}


# The hotline's pages (``policy.may_take_calls``).
hotline_required = page_for(policy.may_take_calls)


class CallForm(forms.Form):
    """One call, as the operator types it. The place is a map point or a grid's code."""

    phone = forms.CharField(label=gettext_lazy("Caller's number"), max_length=32)
    name = forms.CharField(label=gettext_lazy("Caller's name"), max_length=50, required=False)
    request_type = forms.ChoiceField(
        label=gettext_lazy("Request type"), choices=RequestType.choices
    )
    item = forms.ModelChoiceField(
        label=gettext_lazy("Item"),
        queryset=Item.objects.filter(active=True),
        to_field_name="code",
    )
    address = forms.CharField(label=gettext_lazy("Address"), max_length=200, required=False)
    grid = forms.CharField(label=gettext_lazy("Work grid code"), max_length=15, required=False)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)
    description = forms.CharField(
        label=gettext_lazy("What the caller says"), max_length=2000, widget=forms.Textarea
    )
    answer = forms.CharField(
        label=gettext_lazy("Answer given"), max_length=2000, required=False, widget=forms.Textarea
    )

    def place(self) -> dict:
        data = self.cleaned_data
        if data.get("lon") is not None and data.get("lat") is not None:
            return {"lon": data["lon"], "lat": data["lat"]}
        return {"grid_code": data.get("grid", "")}


def time_left(due) -> dict | None:
    """A deadline on the working calendar as the console shows it: when, and the working
    hours left (or past)."""
    if due is None:
        return None
    now = timezone.now()
    passed = due < now
    start, end = (due, now) if passed else (now, due)
    hours = calendar_current().working_seconds_between(start, end) / 3600
    return {"due": due, "passed": passed, "hours": round(hours, 1)}


def _row(case: Case) -> dict:
    return {"case": case, "reply": time_left(case.reply_due)}


def _limits() -> list[dict]:
    labels = dict(RequestType.choices)
    return [
        {"type": kind, "label": labels.get(kind, kind), "amount": amount, "unit": UNIT_WORDS[unit]}
        for kind, (amount, unit) in selectors.reply_limits().items()
    ]


def _panels(request, params) -> dict:
    """The side panels for what the operator typed so far."""
    user = request.user
    context = {"callers": [], "nearby": [], "knowledge": [], "nearby_asked": False}
    phone = params.get("phone", "")
    context["callers"] = [_row(c) for c in selectors.caller_history(user, phone)]
    context["callers_asked"] = len(services.phone_normalised(phone)) >= 7
    item = Item.objects.filter(code=params.get("item", ""), active=True).first()
    place = _place_of(params)
    if item is not None and place is not None:
        context["nearby"] = [_row(c) for c in selectors.open_cases_nearby(user, item=item, **place)]
        context["nearby_asked"] = True
    q = params.get("q", "").strip()
    if q:
        context["knowledge"] = selectors.knowledge_search(
            q[:100], request_type=params.get("request_type", "")
        )
    context["knowledge_asked"] = bool(q)
    return context


def _place_of(params) -> dict | None:
    try:
        lon, lat = float(params.get("lon", "")), float(params.get("lat", ""))
    except ValueError:
        lon = lat = None
    if lon is not None and -180 <= lon <= 180 and -90 <= lat <= 90:
        return {"lon": lon, "lat": lat}
    grid = params.get("grid", "").strip()
    if grid:
        from portal.services import call_place

        try:
            lon, lat, _crs = call_place(grid_code=grid[:15])
        except DomainError:
            return None
        return {"lon": lon, "lat": lat}
    return None


def _extent() -> list[float] | None:
    box = District.objects.aggregate(box=Extent("geom"))["box"]
    return [round(v, 6) for v in box] if box else None


@hotline_required
def console(request):
    """受理: the intake form and its panels; a POST takes the call as a new case."""
    if request.method == "POST" and request.POST.get("refresh"):
        # "Look up" without the script: the panels for what is typed, nothing taken.
        form = CallForm(initial=_initial(request.POST))
        status = 200
    elif request.method == "POST":
        form = CallForm(request.POST)
        if form.is_valid():
            try:
                call = call_take(
                    by=request.user,
                    phone=form.cleaned_data["phone"],
                    name=form.cleaned_data["name"],
                    request_type=form.cleaned_data["request_type"],
                    item=form.cleaned_data["item"],
                    description=form.cleaned_data["description"],
                    address=form.cleaned_data["address"],
                    **form.place(),
                )
            except DomainError as refused:
                _form_error(form, refused)
            else:
                return _done(request, call.case, _("Ticket %(number)s taken."))
        status = 400
    else:
        form = CallForm(initial=_initial(request.GET))
        status = 200
    return _console_page(request, form, status=status)


def _console_page(request, form: CallForm, *, status: int):
    """The console with the form as it stands and the panels for what it holds."""
    params = request.POST if request.method == "POST" else request.GET
    context = {
        "form": form,
        "limits": _limits(),
        "items": Item.objects.filter(active=True).select_related("category").order_by("code"),
        "extent": _extent(),
        "tile_url": settings.GRIDCITY_TILE_URL,
        "tile_attribution": settings.GRIDCITY_TILE_ATTRIBUTION,
        "recent": [_row(c) for c in selectors.recent_calls(request.user)],
        "params": params,
        **_panels(request, params),
    }
    return render(request, "portal/hotline/console.html", context, status=status)


def _initial(params) -> dict:
    names = (
        "phone",
        "name",
        "request_type",
        "item",
        "address",
        "grid",
        "lon",
        "lat",
        "description",
    )
    return {k: params[k] for k in names if params.get(k)}


def _form_error(form: forms.Form, refused: DomainError) -> None:
    answer = refused.answer()
    field = next(iter(answer.fields or {}), None)
    field = {"lon": "grid", "grid_code": "grid"}.get(field, field)
    form.add_error(field if field in form.fields else None, answer.message)


def _done(request, case: Case, message: str) -> HttpResponseRedirect:
    reply = time_left(case.reply_due)
    text = message % {"number": case.number}
    if reply and case.is_open:
        local = timezone.localtime(reply["due"]).strftime("%Y-%m-%d %H:%M")
        text += " " + _("Reply due %(due)s.") % {"due": local}
    messages.success(request, text)
    return HttpResponseRedirect(f"{reverse('hotline-console')}?{urlencode({'done': case.number})}")


@require_GET
@hotline_required
def panel(request):
    """One side panel as an HTML fragment (the console's script asks as the operator types)."""
    part = request.GET.get("part", "")
    if part not in PARTS:
        raise FieldInvalid("part", _("One of: %s.") % ", ".join(PARTS))
    context = {"params": request.GET, **_panels(request, request.GET)}
    return render(request, f"portal/hotline/_{part}.html", context)


@require_POST
@hotline_required
def merge(request, number: str):
    """并单: the caller on the line follows the open case ``number``."""
    case = cases_visible_to(request.user).filter(number=number).first()
    if case is None:
        raise Http404
    phone, name = request.POST.get("phone", ""), request.POST.get("name", "")
    try:
        call = call_merge(case=case, by=request.user, phone=phone, name=name)
    except DomainError as refused:
        messages.error(request, refused.answer().message)
        return HttpResponseRedirect(reverse("hotline-console"))
    return _done(request, call.case, _("Merged into %(number)s."))


@require_POST
@hotline_required
def answer(request):
    """直接办结: the consultation on the line, answered from the knowledge base (``entry``) or
    in the operator's words (``answer``), is taken and closed at once."""
    form = CallForm(request.POST)
    entry = None
    if request.POST.get("entry"):
        entry = KnowledgeEntry.objects.filter(pk=request.POST["entry"], active=True).first()
        if entry is None:
            form.add_error(None, _("This answer is no longer in the knowledge base."))
    if form.is_valid():
        try:
            call = call_answer(
                by=request.user,
                phone=form.cleaned_data["phone"],
                name=form.cleaned_data["name"],
                request_type=form.cleaned_data["request_type"],
                item=form.cleaned_data["item"],
                description=form.cleaned_data["description"],
                answer=form.cleaned_data["answer"],
                entry=entry,
                address=form.cleaned_data["address"],
                **form.place(),
            )
        except DomainError as refused:
            _form_error(form, refused)
        else:
            return _done(request, call.case, _("Ticket %(number)s answered and closed."))
    return _console_page(request, form, status=400)


class CallbackPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("callback_due", "id")


@require_GET
@hotline_required
def callbacks(request):
    """回访: closed cases waiting for their callback, the oldest due first."""
    paginator = CallbackPagination()
    try:
        page = paginator.paginate_queryset(selectors.callbacks_due(request.user), Request(request))
    except ValidationError as invalid:
        name, errors = next(iter(invalid.detail.items()))
        raise FieldInvalid(name, " ".join(str(e) for e in errors)) from None
    attempts = selectors.callback_attempts(page)
    now = timezone.now()
    rows = [
        {
            "case": case,
            "item": codes.ITEMS.get(case.item_id) or ("", ""),
            "late": case.callback_due < now,
            "attempts": attempts.get(case.pk, 0),
        }
        for case in page
    ]
    context = {
        "rows": rows,
        "next": _local(paginator.get_next_link()),
        "previous": _local(paginator.get_previous_link()),
        "satisfactions": Satisfaction.choices,
    }
    return render(request, "portal/hotline/callbacks.html", context)


def _local(link: str | None) -> str | None:
    if not link:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


@require_POST
@hotline_required
def callback(request, number: str):
    """The verdict of one callback: reached or not, satisfaction, note (the reason when
    unsatisfied: the case is reopened for rework)."""
    case = cases_visible_to(request.user).filter(number=number).first()
    if case is None:
        raise Http404
    reached = request.POST.get("reached") == "yes"
    satisfaction = request.POST.get("satisfaction", "") if reached else ""
    try:
        changed = services.case_callback(
            case=case,
            by=request.user,
            reached=reached,
            satisfaction=satisfaction,
            note=request.POST.get("note", "")[:2000],
        )
    except DomainError as refused:
        messages.error(request, f"{case.number}: {refused.answer().message}")
    else:
        if not reached:
            text = _("%(number)s: not reached; the callback stays due.")
        elif changed.status != "closed":
            text = _("%(number)s: unsatisfied, reopened for rework.")
        else:
            text = _("%(number)s: callback recorded.")
        messages.success(request, text % {"number": case.number})
    back = request.POST.get("back", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("hotline-callbacks")
    return HttpResponseRedirect(back)


@require_GET
@hotline_required
def day(request):
    """The operator's day: calls taken, merged, answered directly, callbacks due and done."""
    figures = selectors.operator_day(request.user)
    return render(request, "portal/hotline/day.html", {"figures": figures})


urlpatterns = [
    path("", console, name="hotline-console"),
    path("panel/", panel, name="hotline-panel"),
    path("merge/<str:number>/", merge, name="hotline-merge"),
    path("answer/", answer, name="hotline-answer"),
    path("callbacks/", callbacks, name="hotline-callbacks"),
    path("callbacks/<str:number>/", callback, name="hotline-callback"),
    path("day/", day, name="hotline-day"),
]
