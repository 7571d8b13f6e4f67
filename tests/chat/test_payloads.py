"""Button payloads: a payload this process signed is recognised without its HMAC, and only for its account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat import payloads

NOW = datetime(2026, 11, 25, 12, 0, 0, 500_000, tzinfo=UTC)


def _sign(owner_id: int, *args: object) -> str:
    return payloads.encode("tg", args, owner_id=owner_id, issued_at=NOW, nonce="abc")


def test_a_payload_signed_here_decodes_as_a_verified_one(monkeypatch) -> None:
    raw = _sign(7, "long", 42)
    remembered = payloads.decode(raw, owner_id=7)
    monkeypatch.setattr(payloads, "_recent", {})  # another process: the signature is checked
    verified = payloads.decode(raw, owner_id=7)
    assert remembered == verified == payloads.Payload(code="tg", args=("long", "42"),
                                                      issued_at=NOW.replace(microsecond=0), nonce="abc")


def test_a_remembered_payload_is_found_without_computing_its_signature_but_only_for_its_account(monkeypatch) -> None:
    raw = _sign(7, "short", 42)

    def no_hmac(body: str, owner_id: int) -> str:
        raise AssertionError("the HMAC was computed")

    monkeypatch.setattr(payloads, "_signature", no_hmac)
    assert payloads.decode(raw, owner_id=7).args == ("short", "42")
    with pytest.raises(AssertionError, match="HMAC"):  # not remembered for account 8: verified, the slow way
        payloads.decode(raw, owner_id=8)
    monkeypatch.undo()
    with pytest.raises(payloads.PayloadError):
        payloads.decode(raw, owner_id=8)
    with pytest.raises(payloads.PayloadError):  # an edited payload is not remembered, and fails its signature
        payloads.decode(raw.replace("short", "long "), owner_id=7)


def test_only_the_latest_payloads_are_remembered(monkeypatch) -> None:
    monkeypatch.setattr(payloads, "RECENT_SIGNED", 3)
    monkeypatch.setattr(payloads, "_recent", {})
    signed = [_sign(7, n) for n in range(5)]
    assert list(payloads._recent) == [(raw, 7) for raw in signed[2:]]
    assert payloads.decode(signed[0], owner_id=7).args == ("0",)  # forgotten: verified by its signature
