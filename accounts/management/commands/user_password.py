"""``manage.py user_password USERNAME``: Django's ``changepassword``, through the service.

The new password is set by ``accounts.services.user_set_password``, so it signs every handheld
of the user out and is audited, as from the web page and the admin. (Django's own
``changepassword`` only saves the row: its app comes before ``accounts``, so its command cannot
be replaced under the same name.)
"""

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.models import User
from accounts.services import user_set_password

MAX_TRIES = 3


class Command(changepassword.Command):
    help = "Change a user's password and sign all their handhelds out."

    def handle(self, *args, **options):
        username = options["username"] or changepassword.getpass.getuser()
        try:
            people = User._default_manager.db_manager(options["database"])
            user = people.get_by_natural_key(username)
        except User.DoesNotExist as exc:
            raise CommandError(f"user '{username}' does not exist") from exc
        self.stdout.write(f"Changing password for user '{user}'")
        user_set_password(user=user, password=self._ask(user))
        return f"Password changed successfully for user '{user}'"

    def _ask(self, user: User) -> str:
        """The new password, typed twice and passing the validators, within three tries."""
        for _ in range(MAX_TRIES):
            first, second = self._get_pass(), self._get_pass("Password (again): ")
            if first != second:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(second, user)
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            return first
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
