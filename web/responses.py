"""The two kinds of answer: JSON for the API, pages rendered in the reader's language."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from web.auth import peek_session
from web.i18n import LANGUAGES
from web.keys import I18N

_dumps = functools.partial(json.dumps, ensure_ascii=False)  # Vietnamese stays readable in the raw JSON


def json_reply(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    session = peek_session(request)
    html = i18n.template(language, template).render(
        language=language,
        languages=LANGUAGES,
        session=session,
        csrf_token=session.csrf if session else "",
        path_qs=request.path_qs,
        path=request.path,
        **(context or {}),
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status, headers=headers)
