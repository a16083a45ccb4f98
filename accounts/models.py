from django.contrib.auth.models import AbstractUser
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who uses GridCity: inspector (网格员), supervisor, dispatcher, staff, citizen…

    The custom user model from the first migration, so roles, departments and grid assignments
    can be added without swapping models later.
    """

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"
