"""Operator console for chat identities: switching notifications off records that an operator did it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from notifications.services import notification_identity_reachable
from tests.factories import ChatIdentityFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_an_operator_switching_a_chat_off_keeps_it_off_when_the_person_writes() -> None:
    identity = ChatIdentityFactory()
    client = Client()
    client.force_login(StaffFactory())
    url = reverse("admin:users_chatidentity_change", args=[identity.pk])
    assert client.post(url, {}).status_code == 302  # the checkbox unticked
    identity.refresh_from_db()
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (False, "operator")
    assert notification_identity_reachable(identity=identity) is False
    client.post(url, {"notifications_enabled": "on"})
    identity.refresh_from_db()
    assert (identity.notifications_enabled, identity.notifications_off_reason) == (True, "")
