"""Every message a person can see has a Vietnamese translation with the same placeholders."""

from __future__ import annotations

import re

from tests.i18n_catalog import project_messages
from web.i18n import load_catalog

PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)[sd]")


def test_every_message_is_translated_into_vietnamese() -> None:
    catalog = load_catalog("vi")
    missing = []
    for msgid, places in project_messages().items():
        singular, _, plural = msgid.partition("|")
        translated = catalog.ngettext(singular, plural, 1) if plural else catalog.gettext(singular)
        if translated == singular:
            missing.append(f"{msgid!r} (in {places[0]})")
    assert not missing, "untranslated:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    catalog = load_catalog("vi")
    for msgid in project_messages():
        singular, _, plural = msgid.partition("|")
        translated = catalog.ngettext(singular, plural, 1) if plural else catalog.gettext(singular)
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(singular)), msgid


def test_the_catalog_finds_messages_in_code_and_templates() -> None:
    messages = project_messages()
    assert any(place.endswith(".html") for place in messages["Sign in"])
    assert "Unknown parent unit {parent}" in messages  # a Problem raised in scheduler/
