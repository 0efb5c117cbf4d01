"""A mock OpenID Connect provider for tests, and the app's ``[auth]`` secrets that point at it.

The provider is `oidc-provider-mock` (a Flask app) on a free port of 127.0.0.1, in a thread of the test
process. Its sign-in page is a form with one text box (placeholder "sub"): type a subject, press
*Authorize*, and it signs that subject in. Users given to :func:`serve_provider` carry their claims
(``email``, ``name``); a subject it does not know gets only ``email`` = the subject. Any client id and
secret are accepted. Its end-session endpoint (``st.logout``) shows a page with an *End session* button.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import oidc_provider_mock
import werkzeug.serving

CLIENT_ID = "market-research-studio"


@dataclass(frozen=True)
class Provider:
    """A running mock provider."""

    url: str
    """Its root URL, which is also its issuer (``iss``), e.g. ``http://127.0.0.1:40123``."""

    @property
    def metadata_url(self) -> str:
        """Its OpenID Connect discovery document."""
        return f"{self.url}/.well-known/openid-configuration"


@contextmanager
def serve_provider(users: Mapping[str, Mapping[str, object]] | None = None) -> Iterator[Provider]:
    """Run the mock provider on 127.0.0.1 until the block ends; ``users`` maps subjects to their claims."""
    app = oidc_provider_mock.app(user_claims=[oidc_provider_mock.User(sub=sub, claims=dict(claims))
                                              for sub, claims in (users or {}).items()])
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider-mock", daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def auth_secrets(provider: Provider, app_port: int) -> dict[str, str]:
    """The ``[auth]`` section for an app on 127.0.0.1:``app_port`` signing in with ``provider``."""
    return {
        "redirect_uri": f"http://127.0.0.1:{app_port}/oauth2callback",
        "cookie_secret": secrets.token_urlsafe(32),
        "client_id": CLIENT_ID,
        "client_secret": secrets.token_urlsafe(16),
        "server_metadata_url": provider.metadata_url,
    }


def write_secrets(folder: Path, provider: Provider, app_port: int) -> Path:
    """Write ``folder/secrets.toml`` with the ``[auth]`` section for the app and ``provider``; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secrets.toml"
    lines = ["[auth]", *(f"{key} = {json.dumps(value)}" for key, value in auth_secrets(provider, app_port).items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
