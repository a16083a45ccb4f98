"""The hotline's knowledge base (知识库): the answers 12345 operators read out on the phone.

A consultation (咨询) that one of these entries answers is closed at once (直接办结,
``portal.services.call_answer``) with the entry's answer as the case's note. Administrators
keep the entries in the admin; an entry no longer true is made inactive, not deleted, so the
cases it answered still say what was said.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import RequestType


class KnowledgeEntry(models.Model):
    question = models.CharField(_("question"), max_length=200)
    answer = models.TextField(_("answer"))
    # Words a caller uses that the question does not ("狗", "犬", "养狗登记"), space separated.
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    # The request types (RequestType values) the entry answers; empty: any of them.
    request_types = models.JSONField(_("request types"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["question", "id"]
        verbose_name = _("knowledge entry")
        verbose_name_plural = _("knowledge base")

    def __str__(self) -> str:
        return self.question

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        unknown = [t for t in self.request_types or [] if t not in RequestType.values]
        if unknown:
            raise ValidationError({"request_types": _("Not a request type: %s") % unknown})

    @property
    def request_type_labels(self) -> list[str]:
        labels = dict(RequestType.choices)
        return [str(labels[t]) for t in self.request_types or [] if t in labels]
