"""Interface languages: gettext catalogs (``web/translations/<lang>/LC_MESSAGES/messages.po``) read with Babel.

Message ids are English, so English needs no catalog. Vietnamese is the default. The chosen language persists in a
cookie; ``?lang=en`` on any page switches it. Each language has its own Jinja environment with the i18n extension
installed, so rendering one language never disturbs another.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from scheduler.errors import N_

log = logging.getLogger(__name__)

LANGUAGES: Mapping[str, str] = {"vi": "Tiếng Việt", "en": "English"}
LANGUAGE_COOKIE = "giaoban_lang"
LANGUAGE_QUERY = "lang"
# Shown through a variable in templates (``_(unit.kind)``, ``_(session.role)``), so listed here for extraction.
VOCABULARY = (
    N_("province"), N_("district"), N_("cluster"), N_("commune"), N_("admin"), N_("host"), N_("secretary"),
    N_("scheduled"), N_("lobby_open"), N_("live"), N_("ended"), N_("cancelled"),
    N_("no_address"), N_("no_mail_server"), N_("not_sent"), N_("queued"), N_("sending"), N_("retrying"),
    N_("sent"), N_("failed"),
    N_("audio"), N_("video"),
)  # fmt: skip
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
TEMPLATES_DIR = Path(__file__).parent / "templates"


class I18n:
    def __init__(self, default_language: str) -> None:
        self.default_language = default_language
        self._translations = {lang: load_catalog(lang) for lang in LANGUAGES}
        self._environments = {lang: _environment(t) for lang, t in self._translations.items()}

    def language_of(self, request: web.Request) -> str:
        """The language asked for in the query, else the remembered one, else the default."""
        for candidate in (request.query.get(LANGUAGE_QUERY), request.cookies.get(LANGUAGE_COOKIE)):
            if candidate is not None and candidate in LANGUAGES:
                return candidate
        return self.default_language

    def gettext(self, language: str, message: str) -> str:
        return self._translations[language].gettext(message)

    def format(self, language: str, message: str, params: Mapping[str, Any]) -> str:
        """Translate, then fill ``{placeholders}``; a broken translation falls back to the English text."""
        try:
            return self.gettext(language, message).format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("translation of %r into %s does not fit its parameters", message, language)
            return message.format(**params)

    def template(self, language: str, name: str) -> jinja2.Template:
        return self._environments[language].get_template(name)


def load_catalog(language: str) -> gettext.NullTranslations:
    po_file = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def _environment(translations: gettext.NullTranslations) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return environment
