from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (log-ins audited from the auth signals)
        from accounts.roles import role_groups_sync

        # After every app's migrations (and test flushes): each role's group and permissions.
        post_migrate.connect(role_groups_sync, dispatch_uid="gridcity-role-groups")
