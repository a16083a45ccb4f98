"""The policy in templates: ``{% load policy %}{% if user|may:"audit_patrols" %}…{% endif %}``.

A page shows a link or a button when ``accounts.policy`` says the person may use it; no
template compares a role itself.
"""

from django import template

from accounts import policy

register = template.Library()


@register.filter
def may(user, rule: str) -> bool:
    """Whether ``user`` may do what ``rule`` names (a key of ``accounts.policy.PAGE_RULES``).

    An unknown name is an error, not a quiet "no": a misspelt rule would hide a link for good.
    """
    return policy.PAGE_RULES[rule](user)
