"""The API's /docs (Swagger UI) and /redoc pages with their assets served by the API itself, so they work offline."""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# FastAPI's default pages load Swagger UI, ReDoc and a favicon from CDNs: blank on a machine without a network.
# fastapi-offline ships the same Swagger UI 5 and ReDoc 2 bundles inside its wheel; only its files are used here,
# wired up as FastAPI documents for self-hosted docs assets.
ASSETS_URL = "/docs-assets"
SWAGGER_JS = f"{ASSETS_URL}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{ASSETS_URL}/swagger-ui.css"
REDOC_JS = f"{ASSETS_URL}/redoc.standalone.js"
FAVICON = f"{ASSETS_URL}/favicon.png"


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def add_offline_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from local assets; `app` must be created with docs_url=None and redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} - Swagger UI", oauth2_redirect_url=oauth2_redirect_url,
            swagger_js_url=SWAGGER_JS, swagger_css_url=SWAGGER_CSS, swagger_favicon_url=FAVICON,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    if oauth2_redirect_url:
        @app.get(oauth2_redirect_url, include_in_schema=False)
        def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        # Google Fonts is a CDN too: ReDoc falls back to the system fonts. Offline, only the "powered by ReDoc"
        # logo in its menu (an image ReDoc itself links to) stays empty; the page and the schema render.
        return get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc", redoc_js_url=REDOC_JS,
                              redoc_favicon_url=FAVICON, with_google_fonts=False)
