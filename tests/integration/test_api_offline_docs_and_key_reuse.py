"""The API in-process: /docs and /redoc work offline."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from aigc_workflow.api import create_app
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
