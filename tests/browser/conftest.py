"""Fixtures of the browser tests, here so that the processed database is built once per session."""
from tests.browser.screen_support import page, processed_template, review_site, site_settings  # noqa: F401
