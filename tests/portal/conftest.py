"""Fixtures of the portal's tests."""

from tests.portal.publicside import world  # noqa: F401 - the public pages' world
