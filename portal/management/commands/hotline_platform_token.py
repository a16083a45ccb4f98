"""Issue the device token the city's 12345 platform sends its tickets with."""

from django.core.management.base import BaseCommand

from portal.services import platform_token_issue


class Command(BaseCommand):
    help = (
        "Create (if missing) the 12345 platform's hotline account and print a new token for "
        "POST /api/v1/hotline/tickets/ (the previous token stops working)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default="platform-12345")
        parser.add_argument("--name", default="12345 市级平台")

    def handle(self, *args, username, name, **options):
        user, token = platform_token_issue(username=username, name=name)
        self.stdout.write(f"account: {user.username}")
        self.stdout.write(f"Authorization: Token {token}")
