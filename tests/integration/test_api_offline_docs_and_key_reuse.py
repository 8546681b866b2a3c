"""The API in-process: /docs and /redoc work offline, and an Idempotency-Key replays only its first request."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from test_ratings import make_publications

from aigc_workflow import feedback
from aigc_workflow.api import create_app
from aigc_workflow.db.session import session_scope
from aigc_workflow.settings import Settings

TOKEN = "test-token"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"api_token": SecretStr(TOKEN)}))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as test_client:
        yield test_client


def referenced_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: '([^']+)'""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_assets_the_api_serves(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # Nothing from another host: no CDN, no Google Fonts, no remote favicon.
    assert "://" not in response.text.replace("window.location.origin", "")
    urls = [next(u for u in match if u) for match in referenced_urls(response.text)]
    assets = [u for u in urls if u != "/openapi.json"]
    assert "/openapi.json" in urls
    assert len(assets) >= 2  # the page's script and its favicon (and Swagger UI's stylesheet)
    for url in assets:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = CONTENT_TYPES[url[url.rindex("."):]]
        assert asset.headers["content-type"].startswith(expected), (url, asset.headers["content-type"])
        assert len(asset.content) > 1000, url
    schema = client.get("/openapi.json")
    assert schema.status_code == 200 and schema.headers["content-type"] == "application/json"


def test_swagger_ui_bundle_is_swagger_ui_5_which_reads_fastapis_openapi_3_1(client: TestClient) -> None:
    # Swagger UI 4 shows "Unable to render this definition" for the OpenAPI 3.1 that FastAPI writes.
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    bundle = client.get("/docs-assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    assert re.search(r'"5\.\d+\.\d+"', bundle)


def stored(settings: Settings) -> list[tuple[int, int | None, str | None]]:
    with session_scope(settings.db_url) as session:
        return [(r.publication_id, r.rating, r.external_id) for r in feedback.list_ratings(session=session)]


def test_a_key_replays_the_same_body_and_refuses_a_different_one_with_422(
        client: TestClient, settings: Settings) -> None:
    first, _ = make_publications(settings.db_url)
    url, key = f"/publications/{first}/ratings", {"Idempotency-Key": "once"}
    body = {"rating": 4, "thumbs": "up", "comment": "Clear [brief] notes"}
    created = client.post(url, json=body, headers=key)
    replayed = client.post(url, json={**body, "comment": "  Clear [brief] notes "}, headers=key)
    changed = client.post(url, json={**body, "rating": 2}, headers=key)
    assert (created.status_code, replayed.status_code) == (201, 200)
    assert replayed.json() == created.json() and replayed.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    assert changed.json()["detail"] == (
        f"Idempotency-Key 'once' was already used for rating {created.json()['id']} with a different request "
        "body (rating differ); a retry must repeat the first body exactly, and a new rating needs a new key"
    )
    assert stored(settings) == [(first, 4, "once")]


def test_the_same_key_in_the_body_is_held_to_the_same_rule(client: TestClient, settings: Settings) -> None:
    first, _ = make_publications(settings.db_url)
    url = f"/publications/{first}/ratings"
    assert client.post(url, json={"thumbs": "down", "external_id": "k"}).status_code == 201
    assert client.post(url, json={"thumbs": "down", "external_id": "k"}).status_code == 200
    changed = client.post(url, json={"thumbs": "up", "rater": "bo", "external_id": "k"})
    assert changed.status_code == 422
    assert "external_id 'k' was already used" in changed.json()["detail"]
    assert "(thumbs, rater differ)" in changed.json()["detail"]
    assert stored(settings) == [(first, None, "k")]
