"""The landing page at `/`: where a person who opens http://127.0.0.1:8000 can go next."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>L&amp;D Platform</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5;padding:0 1rem}</style>
</head><body>
<h1>L&amp;D Platform</h1>
<p>Trading bots for investors, run from Telegram, Slack, the API or the terminal.</p>
<ul>
<li><a href="/admin/">Operator console</a> (staff login)</li>
<li><a href="/api/docs">API documentation</a> (<code>Authorization: Bearer &lt;token&gt;</code>)</li>
<li><a href="/api/openapi.json">OpenAPI schema</a></li>
</ul>
</body></html>
"""


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_PAGE)
