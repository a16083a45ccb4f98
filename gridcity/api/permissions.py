"""Permission classes shared by every app's API. Visibility of single objects is the selectors'
business (a user who may not see an object gets 404); these decide who may call at all."""

from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """DRF's model permissions, with reading guarded too: ``view_<model>`` for GET/HEAD."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }
