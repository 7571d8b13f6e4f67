"""Django view for Slack's HTTP requests (events, commands, interactivity). Bolt verifies signatures."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_bolt.adapter.django import SlackRequestHandler

from chat.slack.app import default_app

_handler: SlackRequestHandler | None = None


def request_handler() -> SlackRequestHandler:
    global _handler
    if _handler is None or _handler.app is not default_app():
        _handler = SlackRequestHandler(default_app())
    return _handler


@csrf_exempt
@require_POST
def slack_events(request: HttpRequest) -> HttpResponse:
    return request_handler().handle(request)
