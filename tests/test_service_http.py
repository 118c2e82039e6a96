"""The service follows HTTP's standards: RFC 9457 problem details for every error, 405 with
Allow, 415 for a body not declared JSON, 422 for unknown or repeated query parameters, the
pack introspection endpoints, /metrics by allow-list, the limit of requests in progress and the
access log line with the request id. Straight through the ASGI interface (no network); the
read timeout, which lives in the HTTP protocol, is tested on a real server in
test_service_timeouts.py."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from support.asgi import asgi_request
from support.repo import AS_OF, example

from vasp_rules import RulePack
from vasp_rules.service import ServiceConfig, create_app
from vasp_rules.service.problems import MEDIA_TYPE, PROBLEM_BASE, PROBLEMS

KEY = "http-test-key-51c0"
_APPS: dict[str, Any] = {}


def app(name: str = "plain") -> Any:
    """One app per configuration for the whole module (loading pk takes a while)."""
    if name not in _APPS:
        config = {
            "plain": ServiceConfig(max_body_bytes=50_000),
            "keyed": ServiceConfig(api_keys=[KEY], metrics_allow=["10.0.0.0/8", "::1"]),
        }[name]
        _APPS[name] = create_app(config)
    return _APPS[name]


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    target: Any = None,
    headers: dict[str, str] | None = None,
    client: tuple[str, int] = ("127.0.0.1", 5000),
) -> tuple[int, dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    got: dict[str, str] = {}
    status, answer, _ = asyncio.run(
        asgi_request(
            target or app(),
            method,
            path,
            raw,
            headers=headers,
            client=client,
            answer_headers=got,
        )
    )
    return status, got, answer


def problem(status: int, headers: dict[str, str], body: bytes, expected: int, slug: str) -> Any:
    """The body, checked to be RFC 9457 problem details of that status and type."""
    assert status == expected, body
    assert headers["content-type"] == MEDIA_TYPE
    assert body.count(b"\n") == 1 and body.endswith(b"\n")  # one line
    data = json.loads(body)
    assert data["type"] == PROBLEM_BASE + slug
    assert data["title"] == PROBLEMS[slug][1] and PROBLEMS[slug][0] == expected
    assert data["status"] == expected
    assert data["detail"] and "\n" not in data["detail"] and data["error"] == data["detail"]
    assert data["request_id"] == headers["x-request-id"]
    return data


EVALUATE = f"/v1/evaluate?as_of={AS_OF}"


# -- problem details for every error ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "expected", "slug"),
    [
        ("GET", "/v2/nothing", None, 404, "not-found"),
        ("POST", f"{EVALUATE}&pack=nope", {}, 404, "unknown-pack"),
        ("GET", "/v1/packs/nope", None, 404, "unknown-pack"),
        ("GET", "/v1/schema/nope", None, 404, "unknown-kind"),
        ("DELETE", "/v1/evaluate", None, 405, "method-not-allowed"),
        ("POST", EVALUATE, b"{not json", 400, "invalid-json"),
        ("POST", EVALUATE, b"[" + b"{}," * 30_000 + b"{}]", 413, "too-large"),
        ("POST", EVALUATE, {"kind": "transfer"}, 422, "invalid-document"),
        ("POST", EVALUATE, [], 422, "invalid-request"),
        ("POST", "/v1/evaluate?as_of=yesterday", {}, 422, "invalid-parameter"),
        ("POST", f"/v1/explain?as_of={AS_OF}&rule=NOPE-1", None, 422, "invalid-request"),
    ],
)
def test_every_error_is_problem_details(
    method: str, path: str, body: Any, expected: int, slug: str
) -> None:
    if "rule=NOPE-1" in path:
        body = example("transfer")
    status, headers, answer = call(method, path, body)
    data = problem(status, headers, answer, expected, slug)
    assert data["instance"] == path.partition("?")[0]


def test_validation_problems_keep_the_field_paths() -> None:
    doc = example("customer")
    doc["pep"] = "SOMETIMES"
    status, headers, body = call("POST", EVALUATE, [example("transfer"), doc])
    data = problem(status, headers, body, 422, "invalid-document")
    assert "documents[1].pep" in [e["path"] for e in data["errors"]]


def test_missing_key_is_a_401_problem_with_a_challenge() -> None:
    status, headers, body = call("GET", "/v1/packs", target=app("keyed"))
    problem(status, headers, body, 401, "unauthorized")
    assert headers["www-authenticate"] == "Bearer"


def test_an_internal_error_is_a_500_problem_without_the_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(kind: str) -> Any:
        raise RuntimeError("secret internals /home/app/site-packages")

    monkeypatch.setattr("vasp_rules.service.app.json_schema", broken)
    with caplog.at_level(logging.ERROR, logger="vasp_rules.service"):
        status, headers, body = call("GET", "/v1/schema/transfer")
    data = problem(status, headers, body, 500, "internal-error")
    assert data["request_id"] in data["detail"]
    assert b"secret" not in body and b"Traceback" not in body and b"site-packages" not in body
    assert "secret internals" in caplog.text  # the server's log has it


def test_405_names_the_allowed_methods_in_allow() -> None:
    status, headers, body = call("GET", "/v1/evaluate")
    problem(status, headers, body, 405, "method-not-allowed")
    assert headers["allow"] == "POST"
    status, headers, _ = call("POST", "/v1/packs", {})
    assert status == 405 and set(headers["allow"].split(", ")) == {"GET", "HEAD"}


# -- content type ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain",
        "application/x-www-form-urlencoded",  # curl --data without -H
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
        "",
    ],
)
def test_a_body_not_declared_json_is_415(ctype: str) -> None:
    status, headers, body = call(
        "POST", EVALUATE, example("transfer"), headers={"content-type": ctype}
    )
    data = problem(status, headers, body, 415, "unsupported-media-type")
    assert "application/json" in data["detail"]
    assert headers["accept-post"] == "application/json"


@pytest.mark.parametrize(
    "ctype",
    [None, "application/json", "Application/JSON; charset=UTF-8", "application/vnd.x+json"],
)
def test_json_content_types_and_none_are_read(ctype: str | None) -> None:
    sent = {} if ctype is None else {"content-type": ctype}
    status, _, body = call("POST", EVALUATE, example("transfer"), headers=sent)
    assert status == 200, body
    assert json.loads(body)["outcome"]


# -- query parameters -----------------------------------------------------------------------


def test_an_unknown_query_parameter_is_422_naming_it() -> None:
    status, headers, body = call("POST", f"{EVALUATE}&bacth=false", [example("transfer")])
    data = problem(status, headers, body, 422, "invalid-parameter")
    [error] = data["errors"]
    assert error["path"] == "query.bacth" and "did you mean batch?" in error["message"]
    for path in ("/healthz?x=1", "/v1/packs?pack=pk", "/v1/packs/pk/parameters?as_of=2026-01-01"):
        status, headers, body = call("GET", path)
        problem(status, headers, body, 422, "invalid-parameter")


def test_a_repeated_query_parameter_is_422_unless_repeatable() -> None:
    status, headers, body = call(
        "POST", "/v1/evaluate?as_of=2026-06-01&as_of=2025-01-01", example("transfer")
    )
    data = problem(status, headers, body, 422, "invalid-parameter")
    assert data["errors"] == [{"path": "query.as_of", "message": "given more than once"}]
    rules = "&".join(f"rule={r}" for r in ("TR-01", "TR-02"))
    status, _, body = call(
        "POST", f"/v1/explain?as_of={AS_OF}&suggest=false&{rules}", example("transfer")
    )
    assert status == 200, body


# -- pack introspection ---------------------------------------------------------------------


def test_a_pack_lists_each_rule_with_title_citation_dates_and_parameters(pk: RulePack) -> None:
    status, _, body = call("GET", "/v1/packs/PK")  # any case, as on the command line
    assert status == 200, body
    data = json.loads(body)
    assert data["name"] == "pk" and data["title"] == pk.loaded.manifest.title
    rules = {r["id"]: r for r in data["rules"]}
    assert list(rules) == list(dict.fromkeys(r.id for r in pk.loaded.rules))
    assert set(rules) == set(pk.rule_ids())
    # one written rule for four kinds
    assert set(rules["VER-02"]["kinds"]) == {
        "licence_application",
        "customer",
        "amnesty_declaration",
        "transfer",
    }
    # cases with several outcomes, and two citations, each for its own period
    lic12 = rules["LIC-12"]
    assert set(lic12["outcomes"]) == {"REJECT", "REQUIRE_DOCUMENTS"}
    assert [(c["from"], c["to"]) for c in lic12["citations"]] == [
        ("2025-07-08", "2026-03-02"),
        ("2026-03-03", None),
    ]
    assert lic12["citations"][1]["text"].endswith("[A]")
    assert lic12["effective_from"] == "2025-07-08" and lic12["effective_to"] is None
    assert {"amnesty_window_opens", "amnesty_window_closes"} <= set(
        rules["AMN-01"]["parameters"]
    )
    for rule in data["rules"]:
        assert rule["title"] and rule["citations"] and rule["file"].startswith("rules/")
        assert all(c["confidence"] in ("P", "S", "A") for c in rule["citations"])
        assert set(rule["parameters"]) <= set(pk.loaded.params)


def test_pack_parameters_give_values_by_date_with_their_sources(pk: RulePack) -> None:
    status, _, body = call("GET", "/v1/packs/Pk/parameters")
    assert status == 200, body
    params = json.loads(body)["parameters"]
    assert set(params) == set(pk.loaded.params)
    for entry in params.values():
        assert entry["description"] and entry["values"] and "value_on" not in entry
        assert all(v["source"] and v["from"] for v in entry["values"])
    dated = next(n for n, p in pk.loaded.params.items() if len(p.values) > 1)
    first, second = pk.loaded.params[dated].values[:2]
    for day, expected in ((first.from_, 0), (second.from_, 1)):
        _, _, body = call("GET", f"/v1/packs/pk/parameters?on={day}")
        entry = json.loads(body)["parameters"][dated]
        assert entry["value_on"] == entry["values"][expected]["value"]
    _, _, body = call("GET", "/v1/packs/pk/parameters?on=1990-01-01")
    assert json.loads(body)["parameters"][dated]["value_on"] is None


# -- metrics, concurrency, access log ---------------------------------------------------------


def test_metrics_without_a_key_only_from_the_allowed_networks() -> None:
    keyed = app("keyed")
    for client in (("10.1.2.3", 4000), ("::1", 4000)):
        status, _, body = call("GET", "/metrics", target=keyed, client=client)
        assert status == 200 and b"vasp_rules_http_requests_total" in body
    status, headers, body = call("GET", "/metrics", target=keyed, client=("192.168.1.9", 4000))
    problem(status, headers, body, 401, "unauthorized")
    # the allow-list opens /metrics, nothing else
    status, headers, body = call("GET", "/v1/packs", target=keyed, client=("10.1.2.3", 4000))
    problem(status, headers, body, 401, "unauthorized")
    status, _, _ = call(
        "GET", "/v1/packs", target=keyed, client=("192.168.1.9", 4000), headers={"x-api-key": KEY}
    )
    assert status == 200


def test_requests_over_the_concurrency_limit_get_503_with_retry_after() -> None:
    limited = create_app(ServiceConfig(max_concurrency=1))
    body = json.dumps(example("transfer")).encode()

    async def scenario() -> tuple[int, int, dict[str, str], bytes]:
        release = asyncio.Event()
        sent: list[dict[str, Any]] = []

        async def slow_receive() -> dict[str, Any]:
            await release.wait()  # the first request's body arrives late
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/evaluate",
            "raw_path": b"/v1/evaluate",
            "query_string": f"as_of={AS_OF}".encode(),
            "headers": [],
            "http_version": "1.1",
            "scheme": "http",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 5000),
            "root_path": "",
        }
        first = asyncio.create_task(limited(scope, slow_receive, send))
        await asyncio.sleep(0.05)
        got: dict[str, str] = {}
        status, answer, _ = await asgi_request(
            limited, "POST", EVALUATE, body, answer_headers=got
        )
        health, _, _ = await asgi_request(limited, "GET", "/healthz")
        release.set()
        await first
        first_status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        assert health == 200  # health checks are never turned away
        return first_status, status, got, answer

    first_status, status, headers, answer = asyncio.run(scenario())
    assert first_status == 200
    problem(status, headers, answer, 503, "overloaded")
    assert headers["retry-after"] == "1"


def test_the_access_log_line_carries_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="vasp_rules.service.access"):
        call("GET", "/v1/packs?on=2026-06-01", headers={"x-request-id": "trace-42.a"})
        call("GET", "/nowhere")
    lines = [r.getMessage() for r in caplog.records if r.name == "vasp_rules.service.access"]
    assert any(
        '"GET /v1/packs?on=2026-06-01 HTTP/1.1" 200 request_id=trace-42.a' in ln for ln in lines
    ), lines
    assert any('"GET /nowhere HTTP/1.1" 404 request_id=' in ln for ln in lines), lines


# -- the OpenAPI document ---------------------------------------------------------------------


def test_openapi_describes_errors_as_problem_details() -> None:
    _, _, body = call("GET", "/openapi.json")
    spec = json.loads(body)
    problem_schema = spec["components"]["schemas"]["Problem"]
    assert set(problem_schema["required"]) >= {"type", "title", "status", "detail", "instance"}
    assert set(problem_schema["properties"]["type"]["enum"]) == {
        PROBLEM_BASE + s for s in PROBLEMS
    }
    evaluate = spec["paths"]["/v1/evaluate"]["post"]["responses"]
    for status in ("400", "401", "404", "405", "413", "415", "422", "500", "503"):
        assert list(evaluate[status]["content"]) == [MEDIA_TYPE], status
    assert "Allow" in evaluate["405"]["headers"]
    assert "/v1/packs/{name}/parameters" in spec["paths"]
    rule = spec["components"]["schemas"]["PackRule"]
    assert {"title", "kinds", "outcomes", "citations", "parameters"} <= set(rule["required"])


def test_serve_refuses_a_bad_metrics_network_and_documents_the_new_options() -> None:
    from click.testing import CliRunner

    from vasp_rules.cli import main

    result = CliRunner().invoke(main, ["serve", "--metrics-allow", "10.0.0.0/33"])
    assert result.exit_code == 2
    assert "--metrics-allow" in result.output and "10.0.0.0/8" in result.output
    result = CliRunner().invoke(main, ["serve", "--read-timeout", "0"])
    assert result.exit_code == 2 and "--read-timeout" in result.output
    shown = CliRunner().invoke(main, ["serve", "--help"]).output
    for option in ("--read-timeout", "--keep-alive-timeout", "--max-concurrency"):
        assert option in shown
