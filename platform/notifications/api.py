"""/api/v1/users/me/notifications: which events reach you where, and what was sent lately."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from notifications import catalog, selectors, services
from notifications.schemas import (
    NotificationOut,
    NotificationPreferencesOut,
    NotificationPreferencesPatchIn,
    RecentQuery,
)

router = Router(tags=["notifications"])


def _out(preferences: selectors.Preferences) -> dict:
    return {
        "events": [
            {
                "event": info.event,
                "label": info.label,
                "description": info.description,
                "critical": info.critical,
                "channels": preferences.matrix[info.event],
            }
            for info in catalog.events()
        ],
        "destinations": [destination.__dict__ for destination in preferences.destinations],
    }


@router.get("", response=NotificationPreferencesOut, summary="Your notification preferences")
def preferences_get(request: HttpRequest):
    return _out(selectors.notification_preferences_get(user=request.auth))


@router.patch("", response=NotificationPreferencesOut, summary="Turn notifications on or off per event and channel")
def preferences_patch(request: HttpRequest, payload: NotificationPreferencesPatchIn):
    destinations = {item.identity_id: item.enabled for item in payload.destinations or []}
    preferences = services.notification_settings_update(
        user=request.auth, events=payload.events, destinations=destinations
    )
    return _out(preferences)


@router.get("/recent", response=list[NotificationOut], summary="Your latest notifications and their delivery")
def recent_list(request: HttpRequest, query: Query[RecentQuery]):
    return list(selectors.notification_list_for_user(user=request.auth, limit=query.limit))
