"""Secret masking replaces whole URL components and whole secret values, never substrings of words."""

from __future__ import annotations

import pytest

from jobcore.masking import mask_obj, mask_text, mask_url, url_secrets
from jobcore.models import SessionSpec
from jobcore.spec_secrets import join_secrets, secret_values, split_secrets


def test_a_short_password_masks_its_component_not_every_letter_like_it() -> None:
    # the probe's line: the password `p` came back as `htt***://u:***@…`, showing the password
    url = "http://u:p@127.0.0.1/page"
    assert mask_text(f"GET {url} failed", url_secrets(url)) == "GET http://u:***@127.0.0.1/page failed"
    assert mask_url(url) == "http://u:***@127.0.0.1/page"


@pytest.mark.parametrize(
    ("url", "masked", "secrets"),
    [
        ("http://TOKEN@127.0.0.1/", "http://***@127.0.0.1/", ["TOKEN"]),  # a username-only credential
        ("http://KEY:@127.0.0.1/", "http://***@127.0.0.1/", ["KEY"]),  # an empty password: the user is it
        ("https://u:p@ss@h:8443/a", "https://u:***@h:8443/a", ["p@ss"]),  # split at the last `@`
        ("https://u:p%40ss@h/", "https://u:***@h/", ["p%40ss", "p@ss"]),  # as written and decoded
        ("http://h/a@b?c=d@e", "http://h/a@b?c=d@e", []),  # an `@` past the authority is no credential
    ],
)
def test_url_credentials_are_masked_as_a_component(url: str, masked: str, secrets: list[str]) -> None:
    assert mask_url(url) == masked
    assert url_secrets(url) == secrets


def test_a_url_inside_a_query_or_a_log_line_is_masked_too() -> None:
    assert mask_url("http://h/?next=http://a:bcd@c/") == "http://h/?next=http://a:***@c/"
    line = "redirected to https://abcdef@internal.test/x; retry"
    assert mask_text(line) == "redirected to https://***@internal.test/x; retry"


def test_known_secret_values_are_still_masked_where_they_stand() -> None:
    text = "GET http://127.0.0.1/?key=hunter2&x=1 with proxy password pw"
    assert mask_text(text, ["hunter2", "pw"]) == "GET http://127.0.0.1/?key=***&x=1 with proxy password ***"
    # a short secret inside another word is not the secret; a long one is, wherever it appears
    assert mask_text("pwned pw", ["pw"]) == "pwned ***"
    assert mask_text("q=%22long-secret-value%22", ["long-secret-value"]) == "q=%22***%22"
    assert mask_obj({"a": ["Bearer abc.def"]}) == {"a": ["Bearer ***"]}


def test_a_username_only_credential_is_kept_out_of_the_stored_spec() -> None:
    original = SessionSpec.model_validate({"url": "https://TOKEN1234@127.0.0.1/"})
    masked, secrets = split_secrets(original)
    assert "TOKEN1234" not in masked and "https://***@127.0.0.1/" in masked
    assert join_secrets(masked, secrets).url == original.url
    assert secret_values(original) == ["TOKEN1234"]
