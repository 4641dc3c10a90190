from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    # Generated decks and zips go to a temporary MEDIA_ROOT, never into the tree.
    settings.MEDIA_ROOT = tmp_path / "media"
