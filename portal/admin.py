"""Admin of the hotline's knowledge base: administrators keep the questions and answers."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cases.models import RequestType
from portal.models import KnowledgeEntry


class KnowledgeEntryForm(forms.ModelForm):
    request_types = forms.MultipleChoiceField(
        label=_("request types"),
        choices=RequestType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("none: any request type"),
    )

    class Meta:
        model = KnowledgeEntry
        fields = ["question", "answer", "keywords", "request_types", "active"]


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(admin.ModelAdmin):
    form = KnowledgeEntryForm
    list_display = ["question", "keywords", "active", "updated_at"]
    list_filter = ["active"]
    search_fields = ["question", "keywords", "answer"]
