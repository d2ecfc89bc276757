from __future__ import annotations

import jwt
import pytest

from chalicelib.githost.github_auth import GitHubAuthError, auth_from_settings, make_app_jwt
from chalicelib.settings import Settings

from .conftest import APP_ID, T0


def test_app_jwt_is_rs256_backdated_and_short_lived(app_key: tuple[str, str]) -> None:
    token = make_app_jwt(APP_ID, app_key[0], T0)

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, app_key[1], algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {"iss": APP_ID, "iat": int(T0) - 60, "exp": int(T0) + 540}


def test_a_key_that_is_not_a_pem_key_is_a_clear_error() -> None:
    with pytest.raises(GitHubAuthError, match="cannot sign"):
        make_app_jwt(APP_ID, "not a key", T0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no GitHub credentials"),
        (
            {"MAESTRO_GITHUB_APP_ID": "1"},
            "MAESTRO_GITHUB_INSTALLATION_ID, MAESTRO_GITHUB_PRIVATE_KEY_SECRET",
        ),
    ],
)
def test_missing_configuration(env: dict[str, str], message: str) -> None:
    with pytest.raises(GitHubAuthError, match=message):
        auth_from_settings(Settings.from_env(env))
