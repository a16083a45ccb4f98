"""The browser fixtures (tests/e2e/browser.py) for every test of this folder that drives one."""

from importlib.util import find_spec

if find_spec("selenium") is not None:  # the flows without a browser run without Selenium
    from tests.e2e.browser import browser, browser_factory  # noqa: F401 - fixtures
