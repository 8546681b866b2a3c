"""The HTTP API as a real `aigc api` process on loopback: reads, ratings, bad ratings, bad tokens, idempotency."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from aigc_workflow.briefs import BriefSpec
from aigc_workflow.db import repo
from aigc_workflow.db.models import Decision, Draft, Modality, Publication, Review, ReviewDecision, Rating
from aigc_workflow.db.session import session_scope
from aigc_workflow.scoring.base import ScoreResult
from batch_process import stop

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 60
AIGC = [sys.executable, "-c", "from aigc_workflow.cli.main import app; app(prog_name='aigc')"]


@dataclass
class Server:
    url: str
    token: str
    db_url: str
    publications: list[int]
    log: Path

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def ratings(self) -> list[tuple[int, int | None, str | None]]:
        with session_scope(self.db_url) as session:
            rows = session.query(Rating).order_by(Rating.id).all()
            return [(r.publication_id, r.rating, r.external_id) for r in rows]


def make_lineage(url: str) -> list[int]:
    """Two publications of one batch; the first with scores, a verdict and a review."""
    with session_scope(url) as session:
        repo.upsert_briefs([BriefSpec(ref="trees", topic="Why cities need trees")], session=session)
        brief = repo.list_briefs(session=session)[0]
        batch = repo.create_batch(session=session, review_mode="human", seed=3, candidates=2, config={})
        ids = []
        for index in range(2):
            draft = Draft(
                cache_key=f"k{index}", batch_id=batch.id, brief_id=brief.id, candidate_index=index,
                modality=Modality.TEXT, text=f"Trees give shade ({index}).", prompt="Write about trees",
                model_version="echo@1", seed=100 + index, params={},
            )
            session.add(draft)
            session.flush()
            review = None
            if index == 0:
                repo.save_scores(draft.id, [ScoreResult("toxicity", 0.01, "profanity-check", "1.0", {}, None)],
                                 session=session)
                repo.save_verdict(draft.id, Decision.APPROVED, [], {"toxicity": {"max": 0.5}}, session=session)
                review = Review(draft_id=draft.id, reviewer="ana", decision=ReviewDecision.APPROVE,
                                gate_decision=Decision.APPROVED, note="fine")
                session.add(review)
                session.flush()
            publication = Publication(draft_id=draft.id, channel="blog", location=f"blog/draft-{draft.id}.md",
                                      text=draft.text, review_id=review.id if review else None)
            session.add(publication)
            session.flush()
            ids.append(publication.id)
    return ids


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(tmp_path: Path, db_url: str, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_")}
    env.update({"AIGC_HOME": str(tmp_path / "home"), "AIGC_DATABASE_URL": db_url,
                "AIGC_CONFIG": "/nonexistent/aigc.toml"})
    if token is not None:
        env["AIGC_API_TOKEN"] = token
    return env


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[Server]:
    publications = make_lineage(db_url)
    token = secrets.token_urlsafe(24)
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*AIGC, "api", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(tmp_path, db_url, token), stdout=sink, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"aigc api exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"aigc api did not answer /healthz within {START_TIMEOUT_S}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(base, token, db_url, publications, log)
    finally:
        stop(process, timeout_s=10)
    output = log.read_text()
    assert "Uvicorn running on http://127.0.0.1:" in output
    assert token not in output, "the server logged its token"


def test_reads_list_newest_first_and_one_with_lineage(server: Server) -> None:
    first, second = server.publications
    with httpx.Client(base_url=server.url) as client:
        rated = client.post(f"/publications/{first}/ratings", json={"rating": 4, "thumbs": "up"},
                            headers=server.auth())
        assert rated.status_code == 201, rated.text
        page = client.get("/publications", params={"limit": 1}).json()
        rest = client.get("/publications", params={"limit": 10, "offset": 1}).json()
        detail = client.get(f"/publications/{first}").json()
        too_big = client.get("/publications", params={"limit": 100000})
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 0)
    assert [item["id"] for item in page["items"] + rest["items"]] == [second, first]
    listed = rest["items"][0]
    assert set(listed) == {"id", "draft_id", "brief_ref", "channel", "location", "text", "published_at",
                           "model_version", "rating_summary"}
    assert listed["brief_ref"] == "trees" and listed["model_version"] == "echo@1"
    assert listed["rating_summary"] == {"count": 1, "mean": 4.0, "thumbs_up": 1, "thumbs_down": 0}
    assert detail["scores"] == [{"scorer": "toxicity", "value": 0.01, "model": "profanity-check", "version": "1.0",
                                 "error": None}]
    assert detail["verdict"] == {"decision": "approved", "reasons": []}
    assert [(r["reviewer"], r["decision"]) for r in detail["reviews"]] == [("ana", "approve")]
    assert [(r["rating"], r["thumbs"]) for r in detail["ratings"]] == [(4, "up")]
    assert (detail["seed"], detail["prompt"], detail["review_id"]) == (100, "Write about trees",
                                                                       detail["reviews"][0]["id"])
    assert too_big.status_code == 422


def test_good_rating_is_stored_once_and_retries_with_a_key_return_the_first(server: Server) -> None:
    first, second = server.publications
    with httpx.Client(base_url=server.url, headers=server.auth()) as client:
        created = client.post(f"/publications/{first}/ratings",
                              json={"rating": 5, "thumbs": "up", "rater": "bo", "comment": "Clear"})
        assert created.status_code == 201, created.text
        assert server.ratings() == [(first, 5, None)]
        body = created.json()
        assert (body["publication_id"], body["rating"], body["thumbs"], body["rater"]) == (first, 5, "up", "bo")
        assert body["created_at"]

        key = {"Idempotency-Key": "retry-123"}
        one = client.post(f"/publications/{second}/ratings", json={"rating": 3}, headers=key)
        two = client.post(f"/publications/{second}/ratings", json={"rating": 3}, headers=key)
        # The same key in the body is the same rating, too.
        three = client.post(f"/publications/{second}/ratings", json={"rating": 3, "external_id": "retry-123"})
        other = client.post(f"/publications/{first}/ratings", json={"rating": 3}, headers=key)
    assert (one.status_code, two.status_code, three.status_code) == (201, 200, 200)
    assert one.json() == two.json() == three.json()
    assert two.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert server.ratings() == [(first, 5, None), (second, 3, "retry-123")]


def test_concurrent_retries_with_one_key_store_one_rating(server: Server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    first = server.publications[0]

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/publications/{first}/ratings", json={"rating": 2},
                          headers={**server.auth(), "Idempotency-Key": "burst"}, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert server.ratings() == [(first, 2, "burst")]


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"rating": 0}, "greater than or equal to 1"),
        ({"rating": 6}, "less than or equal to 5"),
        ({"rating": "five"}, "valid integer"),
        ({"thumbs": "sideways"}, "'up' or 'down'"),
        ({}, "give a rating (1-5), thumbs (up or down), or both"),
        ({"rating": 3, "stars": 5}, "Extra inputs are not permitted"),
    ],
)
def test_bad_ratings_get_422_and_write_nothing(server: Server, payload: dict[str, object], detail: str) -> None:
    response = httpx.post(f"{server.url}/publications/{server.publications[0]}/ratings", json=payload,
                          headers=server.auth())
    assert response.status_code == 422
    assert detail in response.text
    assert server.ratings() == []


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, "Bearer"),
        ({"Authorization": "Bearer not-the-token"}, 'Bearer error="invalid_token"'),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer"),
        ({"Authorization": "Bearer"}, "Bearer"),
    ],
    ids=["missing", "wrong", "basic", "empty"],
)
def test_missing_or_bad_tokens_get_401_and_write_nothing(server: Server, headers: dict[str, str],
                                                         challenge: str) -> None:
    response = httpx.post(f"{server.url}/publications/{server.publications[0]}/ratings", json={"rating": 5},
                          headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge
    assert server.token not in response.text
    assert server.ratings() == []


def test_a_token_that_is_only_a_prefix_or_extension_is_refused(server: Server) -> None:
    for guess in (server.token[:-1], server.token + "x", server.token.upper()):
        response = httpx.post(f"{server.url}/publications/{server.publications[0]}/ratings", json={"rating": 5},
                              headers=server.auth(guess))
        assert response.status_code == 401
    assert server.ratings() == []


def test_unknown_publication_gets_404_on_read_and_write(server: Server) -> None:
    with httpx.Client(base_url=server.url, headers=server.auth()) as client:
        posted = client.post("/publications/424242/ratings", json={"rating": 4})
        read = client.get("/publications/424242")
    assert posted.status_code == read.status_code == 404
    assert "no publication with id 424242" in posted.json()["detail"]
    assert server.ratings() == []


def test_openapi_schema_is_served_with_the_three_paths(server: Server) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/publications", "/publications/{publication_id}", "/publications/{publication_id}/ratings"} <= set(
        schema["paths"]
    )
    post = schema["paths"]["/publications/{publication_id}/ratings"]["post"]
    assert {"201", "401", "404", "422"} <= set(post["responses"])
    assert post["security"] == [{"HTTPBearer": []}]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
def test_server_refuses_to_start_without_a_token(tmp_path: Path, sqlite_url: str, token: str | None) -> None:
    result = subprocess.run(
        [*AIGC, "api", "--port", str(free_port())], env=server_env(tmp_path, sqlite_url, token),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "no API token configured" in result.stderr
    assert "AIGC_API_TOKEN" in result.stderr
    assert "Uvicorn running" not in result.stdout + result.stderr
