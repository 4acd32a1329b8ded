"""The verifiers against published test vectors (guide Appendix A, Standard Webhooks spec)."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from webhooks.errors import InvalidSignature
from webhooks.verify import (
    basic_credentials,
    check_bamboohr,
    check_bearer_or_basic,
    check_hub_signature,
    check_shared_secret,
    check_standard_webhooks,
    decode_whsec,
    sign_bamboohr,
    sign_hub,
    sign_standard,
)

ATLASSIAN_SECRET = "It's a Secret to Everybody"


def test_jira_x_hub_signature_vector() -> None:
    expected = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    assert sign_hub(ATLASSIAN_SECRET, b"Hello World!") == expected
    check_hub_signature(SecretStr(ATLASSIAN_SECRET), b"Hello World!", expected)
    check_hub_signature(
        SecretStr(ATLASSIAN_SECRET), b"Hello World!", expected.upper().replace("SHA256", "sha256")
    )


def test_github_style_vector_uses_the_same_scheme() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign_hub(ATLASSIAN_SECRET, b"Hello, World!") == expected


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing X-Hub-Signature"),
        ("sha1=abc", "X-Hub-Signature is not sha256=<hex>"),
        ("sha256=", "X-Hub-Signature is not sha256=<hex>"),
        ("sha256=" + "0" * 64, "wrong X-Hub-Signature"),
    ],
)
def test_hub_signature_refusals(header: str | None, reason: str) -> None:
    with pytest.raises(InvalidSignature) as info:
        check_hub_signature(SecretStr(ATLASSIAN_SECRET), b"Hello World!", header)
    assert info.value.reason == reason
    assert info.value.status_code == 401
    assert info.value.detail == "invalid or missing signature"


def test_standard_webhooks_spec_vector() -> None:
    key = decode_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    msg_id, stamp, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign_standard(key, msg_id, stamp, body) == expected
    # Several signatures (rotation): any one valid is enough.
    check_standard_webhooks(
        [key],
        body,
        msg_id=msg_id,
        timestamp=stamp,
        signature=f"v1,bm90LWl0 {expected}",
        window=300,
        now=lambda: 1614265330 + 299,
    )
    with pytest.raises(InvalidSignature) as info:
        check_standard_webhooks(
            [key],
            body,
            msg_id=msg_id,
            timestamp=stamp,
            signature=expected,
            window=300,
            now=lambda: 1614265330 + 301,
        )
    assert "replay window" in info.value.reason
    with pytest.raises(InvalidSignature) as info:
        check_standard_webhooks(
            [key],
            body + b" ",
            msg_id=msg_id,
            timestamp=stamp,
            signature=expected,
            window=300,
            now=lambda: 1614265330,
        )
    assert info.value.reason == "wrong webhook-signature"


def test_bamboohr_signs_body_then_timestamp() -> None:
    import hashlib
    import hmac

    body, stamp = b'{"type":"employee.updated"}', "1795700000"
    manual = hmac.new(b"k3y", body + stamp.encode(), hashlib.sha256).hexdigest()
    assert sign_bamboohr("k3y", body, stamp) == manual
    check_bamboohr(
        SecretStr("k3y"),
        body,
        timestamp=stamp,
        signature=manual.upper(),
        window=300,
        now=lambda: 1795700100,
    )
    with pytest.raises(InvalidSignature) as info:
        check_bamboohr(
            SecretStr("k3y"),
            body,
            timestamp=stamp,
            signature=manual,
            window=300,
            now=lambda: 1795700000 + 301,
        )
    assert "replay window" in info.value.reason
    dotted = hmac.new(b"k3y", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    with pytest.raises(InvalidSignature):
        check_bamboohr(
            SecretStr("k3y"),
            body,
            timestamp=stamp,
            signature=dotted,
            window=300,
            now=lambda: 1795700000,
        )


def test_okta_shared_secret() -> None:
    check_shared_secret(SecretStr("s3cret"), "s3cret", header="Authorization")
    for given in (None, "", "s3cre", "s3cret "):
        with pytest.raises(InvalidSignature):
            check_shared_secret(SecretStr("s3cret"), given, header="Authorization")


def test_bearer_or_basic() -> None:
    kwargs = {"token": SecretStr("t0k"), "username": "u", "password": SecretStr("p")}
    check_bearer_or_basic("Bearer t0k", **kwargs)
    check_bearer_or_basic(basic_credentials("u", "p"), **kwargs)
    for header in (None, "Bearer nope", basic_credentials("u", "x"), "Basic !!!", "Digest x"):
        with pytest.raises(InvalidSignature):
            check_bearer_or_basic(header, **kwargs)
    with pytest.raises(InvalidSignature):  # basic not configured
        check_bearer_or_basic(
            basic_credentials("u", "p"), token=SecretStr("t0k"), username=None, password=None
        )


def test_whsec_decoding() -> None:
    assert len(decode_whsec("whsec_" + base64.b64encode(b"k" * 32).decode())) == 32
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_" + "QUJD"):
        with pytest.raises(ValueError):
            decode_whsec(bad)


def test_a_verified_event_keeps_its_payload_out_of_its_repr():
    from webhooks.source import VerifiedEvent

    event = VerifiedEvent("okta", b'{"email": "lee@acme.example"}', {"email": "lee@acme.example"},
                          {"x-okta-verification-challenge": "c"})
    assert repr(event) == "VerifiedEvent(source='okta')"
    assert "lee@acme.example" not in str(event)
