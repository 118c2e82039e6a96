"""The HTTP decision service, tested over real HTTP: `vasp-rules serve` runs in a subprocess on
a free loopback port, and every server a test starts is stopped by it."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from support.asgi import asgi_call
from support.audit import opened
from support.repo import AS_OF, EXAMPLES, ROOT, example
from support.service import KEY, Server, start_server

from vasp_rules import RulePack
from vasp_rules.audit import DecisionLog
from vasp_rules.audit.jsontext import identical
from vasp_rules.cli import main
from vasp_rules.entities.ivms101 import parse_ivms101
from vasp_rules.entities.registry import json_schema

OTHER_KEY = "second-key-0b44"
LIMIT = 300_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("service")
    keys = tmp / "keys.txt"
    keys.write_text(f"# service keys\n{KEY}\n{OTHER_KEY}\n")
    srv = start_server(
        tmp,
        "--log",
        str(tmp / "audit.db"),
        "--api-key-file",
        str(keys),
        "--max-body-bytes",
        str(LIMIT),
    )
    try:
        yield srv
    finally:
        srv.stop()


def evaluate_path(**params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"as_of": AS_OF.isoformat(), **params}.items())
    return f"/v1/evaluate?{query}"


def assert_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> Any:
    assert status == expected, body
    assert headers["content-type"] == "application/problem+json"  # RFC 9457
    assert body.count(b"\n") <= 1  # one line
    data = json.loads(body)
    assert isinstance(data["error"], str) and "\n" not in data["error"] and data["error"]
    assert data["request_id"] == headers["x-request-id"]
    return data


# -- decisions ------------------------------------------------------------------------------


def test_evaluate_returns_the_library_json_byte_for_byte_and_records_it(
    server: Server, pk: RulePack
) -> None:
    doc = example("transfer")
    status, headers, body = server.request("POST", evaluate_path(), doc)
    assert status == 200 and headers["content-type"] == "application/json"
    assert body == pk.evaluate(doc, AS_OF).to_json().encode()
    assert headers["x-request-id"]
    seq = int(headers["x-audit-records"])
    assert server.log is not None
    with DecisionLog.open(server.log) as audit:
        record = audit.get(seq)
        assert record.decision_json == body.decode()
        assert audit.verify().ok
        assert headers["x-audit-head"] == audit.head().token


def test_json_numbers_with_a_fraction_are_recorded_exactly_and_replay(
    server: Server, pk: RulePack
) -> None:
    """Issue 21: `2500.5` and `1E+3` in a body are recorded (no 503), as the exact decimals
    the engine was given, and the record replays byte for byte."""
    text = (EXAMPLES / "transfer.json").read_text()
    text = text.replace('"amount": "2500.00",', '"amount": 2500.5,', 1)
    text = text.replace(
        '{"amount": "2500.00", "currency": "USD"}', '{"amount": 1E+3, "currency": "USD"}'
    )
    doc = json.loads(text, parse_float=Decimal)
    status, headers, body = server.request("POST", evaluate_path(), raw=text.encode())
    assert status == 200, body
    assert body == pk.evaluate(doc, AS_OF).to_json().encode()
    seq = headers["x-audit-records"]
    assert server.log is not None
    with DecisionLog.open(server.log) as audit:
        record = opened(audit, audit.get(int(seq)))  # personal data joined back
        assert identical(record.document(), doc)
        assert record.decision_json == body.decode()
    replayed = CliRunner().invoke(main, ["audit", "replay", str(server.log), seq])
    assert replayed.exit_code == 0 and f"SAME: record {seq}" in replayed.stdout, replayed.output


def test_audit_records_carry_the_request_id_of_the_header(server: Server) -> None:
    """With --log, every decision record of a request carries the request id returned in
    X-Request-Id (the caller's own, or a new one), covered by the hash chain."""
    docs = [example("customer"), example("transfer")]
    status, mine, _ = server.request(
        "POST", evaluate_path(), docs, headers={"X-Request-Id": "caller-id.42"}
    )
    assert status == 200 and mine["x-request-id"] == "caller-id.42"
    status, fresh, _ = server.request("POST", evaluate_path(), example("transfer"))
    assert status == 200 and fresh["x-request-id"] != "caller-id.42"
    assert server.log is not None
    with DecisionLog.open(server.log) as audit:
        for headers, count in ((mine, 2), (fresh, 1)):
            first, _, last = headers["x-audit-records"].partition("-")
            seqs = range(int(first), int(last or first) + 1)
            assert len(seqs) == count
            for seq in seqs:
                record = audit.get(seq)
                assert record.kind == "decision" and record.hash_ok
                assert record.request_id == headers["x-request-id"]
                assert record.run_id == headers["x-audit-run"]
            [run] = audit.runs(run_id=headers["x-audit-run"])
            assert run.complete and run.decisions == count
            assert run.request_id == headers["x-request-id"]
        assert audit.verify().ok
    shown = CliRunner().invoke(
        main, ["audit", "show", str(server.log), first_of(mine), "--format", "json"]
    )
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["record"]["request_id"] == "caller-id.42"
    text = CliRunner().invoke(main, ["audit", "show", str(server.log), first_of(mine)])
    assert "request id  caller-id.42" in text.stdout


def first_of(headers: dict[str, str]) -> str:
    return headers["x-audit-records"].partition("-")[0]


def test_a_list_is_a_batch_in_the_cli_json_shape(server: Server, pk: RulePack) -> None:
    docs = [example("customer"), example("transfer"), example("transfer_unhosted")]
    status, headers, body = server.request("POST", evaluate_path(), docs)
    assert status == 200
    expected = pk.evaluate_many(docs, AS_OF)
    assert body.decode() == "[\n" + ",\n".join(d.to_json() for d in expected) + "\n]"
    first, last = (int(x) for x in headers["x-audit-records"].split("-"))
    assert last - first == 2


def test_explain_true_adds_the_explanation(server: Server, pk: RulePack) -> None:
    doc = example("customer")
    doc["pep"] = "FOREIGN"
    status, headers, body = server.request("POST", evaluate_path(explain="true"), doc)
    assert status == 200
    assert body == pk.evaluate(doc, AS_OF, explain=True).to_json().encode()
    assert "explanation" in json.loads(body)
    # the log keeps the decision itself, which replays byte for byte
    assert server.log is not None
    result = CliRunner().invoke(
        main, ["audit", "replay", str(server.log), headers["x-audit-records"]]
    )
    assert result.exit_code == 0, result.output


def test_explain_html_report(server: Server) -> None:
    doc = example("licence_application")
    doc["firm"]["people"][1]["outsourced"] = True
    status, headers, body = server.request(
        "POST", f"/v1/explain?as_of={AS_OF}&format=html&suggest=false", doc
    )
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<html" in body and b"LIC-07" in body


def test_explain_json_is_the_library_explanation_and_unknown_rules_are_422(
    server: Server, pk: RulePack
) -> None:
    from vasp_rules.explain import explain

    doc = example("transfer_unhosted")
    status, _, body = server.request("POST", f"/v1/explain?as_of={AS_OF}&rule=TR-01", doc)
    assert status == 200
    assert body == explain(pk, doc, AS_OF, rules=["TR-01"]).to_json().encode()
    status, headers, body = server.request("POST", f"/v1/explain?as_of={AS_OF}&rule=NOPE-1", doc)
    assert "NOPE-1" in assert_error(status, headers, body, 422)["error"]
    status, headers, body = server.request("POST", f"/v1/explain?as_of={AS_OF}", [doc, doc])
    assert_error(status, headers, body, 422)


def test_whatif(server: Server) -> None:
    doc = example("transfer")
    status, _, body = server.request(
        "POST", f"/v1/whatif?as_of={AS_OF}", {"document": doc, "set": ["originator.name=null"]}
    )
    assert status == 200
    result = json.loads(body)
    assert result["outcome_before"] == "APPROVE" and result["outcome_after"] == "REJECT"
    status, headers, body = server.request(
        "POST", f"/v1/whatif?as_of={AS_OF}", {"document": doc, "set": ["no.such.path=1"]}
    )
    assert_error(status, headers, body, 422)


def test_ivms101_payload(server: Server, pk: RulePack) -> None:
    envelope = json.loads((EXAMPLES / "ivms101" / "incoming_2023.json").read_text())
    status, _, body = server.request("POST", evaluate_path(input_format="ivms101"), envelope)
    assert status == 200
    assert body == pk.evaluate(parse_ivms101(envelope), AS_OF).to_json().encode()
    envelope["ivms101"]["payloadMetadata"]["payloadVersion"] = "101"
    status, headers, body = server.request("POST", evaluate_path(input_format="ivms101"), envelope)
    data = assert_error(status, headers, body, 422)
    assert data["errors"][0]["path"] == "ivms101.originator.originatorPerson"


@pytest.mark.parametrize(
    "route, body, path",
    [
        ("/v1/evaluate", {"asset": "\ud800"}, "asset"),
        ("/v1/evaluate", [{}, {"originator": {"na\udc00me": "x"}}], "documents[1].originator.na"),
        ("/v1/explain", {"beneficiary": {"name": "A\udfff"}}, "beneficiary.name"),
        ("/v1/whatif", {"set": ["asset=\ud800"]}, "set[0]"),
        ("/v1/whatif", {"document": {"asset": "\ud800"}}, "document.asset"),
    ],
)
def test_a_lone_surrogate_is_a_422_naming_its_path(
    server: Server, route: str, body: Any, path: str
) -> None:
    """Valid JSON text that decodes to a lone surrogate is refused before anything hashes it."""
    doc = example("transfer")
    if isinstance(body, list):
        sent: Any = [
            doc,
            {**doc, **body[1], "originator": {**doc["originator"], **body[1]["originator"]}},
        ]
    elif route == "/v1/whatif":
        sent = {
            "document": {**doc, **body.get("document", {})},
            "set": body.get("set", ["asset=X"]),
        }
    else:
        sent = {**doc, **body}
        if "beneficiary" in body:
            sent["beneficiary"] = {**doc["beneficiary"], **body["beneficiary"]}
    status, headers, raw = server.request("POST", f"{route}?as_of={AS_OF}", sent)
    data = assert_error(status, headers, raw, 422)
    assert data["errors"][0]["path"].startswith(path), data
    assert "not valid Unicode" in data["error"]


def test_ivms101_with_a_lone_surrogate_is_a_422(server: Server) -> None:
    envelope = json.loads((EXAMPLES / "ivms101" / "incoming_2023.json").read_text())
    envelope["ivms101"]["originator"]["originatorPerson"][0]["legalPerson"][
        "customerIdentification"
    ] = "\udc00"
    status, headers, raw = server.request("POST", evaluate_path(input_format="ivms101"), envelope)
    data = assert_error(status, headers, raw, 422)
    assert data["errors"][0]["path"] == (
        "ivms101.originator.originatorPerson[0].legalPerson.customerIdentification"
    )


def test_a_blank_originator_name_is_a_missing_one_through_the_service(
    server: Server, pk: RulePack
) -> None:
    doc = example("transfer")
    doc["originator"]["name"] = "\u200b "
    status, _, body = server.request("POST", evaluate_path(), doc)
    assert status == 200
    decision = json.loads(body)
    assert decision["outcome"] == "REJECT"
    assert [f["rule_id"] for f in decision["findings"]] == ["TR-01"]
    del doc["originator"]["name"]
    assert body == pk.evaluate(doc, AS_OF).to_json().encode()


# -- catalogue endpoints ----------------------------------------------------------------------


def test_packs_schema_health_and_openapi(server: Server, pk: RulePack) -> None:
    status, _, body = server.request("GET", "/v1/packs?on=2026-06-01")
    [info] = json.loads(body)
    assert status == 200
    assert (info["name"], info["version"], info["sha256"]) == (pk.name, pk.version, pk.sha256)
    assert info["rules_in_force"] == pk.rule_ids(AS_OF)
    status, _, body = server.request("GET", "/v1/packs/pk")
    assert status == 200
    assert sorted(r["id"] for r in json.loads(body)["rules"]) == sorted(pk.rule_ids())
    status, _, body = server.request("GET", "/v1/schema/transfer")
    assert status == 200 and json.loads(body) == json_schema("transfer")
    status, _, body = server.request("GET", "/healthz", key=None)
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = server.request("GET", "/openapi.json")
    spec = json.loads(body)
    assert spec["openapi"].startswith("3.1") and "/v1/evaluate" in spec["paths"]
    assert "Decision" in spec["components"]["schemas"]
    import jsonschema

    for schema in spec["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    # every reference resolves within the document
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', body.decode()))
    assert refs <= set(spec["components"]["schemas"])


def test_decisions_name_the_notice_the_pack_endpoint_states(server: Server, pk: RulePack) -> None:
    """A UI shows each decision with the notice its id names: the text comes from the pack."""
    status, _, body = server.request("POST", evaluate_path(), example("transfer"))
    assert status == 200
    decision_notice = json.loads(body)["notice"]
    status, _, body = server.request("GET", "/v1/packs/pk")
    stated = json.loads(body)["notice"]
    assert status == 200 and decision_notice == {"id": stated["id"]} and stated["id"]
    assert stated["text"] == pk.disclaimer and stated["text"].startswith(stated["disclaimer"])
    assert set(stated["confidence_tags"]) == {"P", "S", "A"}
    status, _, body = server.request("GET", "/v1/packs")
    assert [p["notice"] for p in json.loads(body)] == [stated]
    status, _, body = server.request("GET", "/openapi.json")
    schemas = json.loads(body)["components"]["schemas"]
    assert "notice" in schemas["Decision"]["properties"]
    assert set(schemas["Notice"]["required"]) >= {"id", "text"}
    assert "notice" in schemas["Pack"]["required"]
    status, _, body = server.request(
        "POST", f"/v1/whatif?as_of={AS_OF}", {"document": example("transfer"),
                                               "set": ["data_transmitted_at=null"]}
    )
    assert status == 200 and json.loads(body)["notice"] == decision_notice


def test_metrics_count_requests_decisions_and_latency(server: Server) -> None:
    server.request("POST", evaluate_path(), example("transfer"))
    status, headers, body = server.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert 'vasp_rules_decisions_total{kind="transfer",outcome="APPROVE",pack="pk"}' in text
    assert 'vasp_rules_http_requests_total{method="POST",route="/v1/evaluate",status="200"}' in text
    assert 'vasp_rules_http_request_duration_seconds_bucket{le="0.1",route="/v1/evaluate"}' in text


# -- errors: never a 500 ---------------------------------------------------------------------


def test_invalid_document_is_422_with_field_paths(server: Server) -> None:
    doc = example("customer")
    doc["pep"] = "SOMETIMES"
    doc["id_document"]["number"] = "123"
    status, headers, body = server.request("POST", evaluate_path(), [example("transfer"), doc])
    data = assert_error(status, headers, body, 422)
    paths = [e["path"] for e in data["errors"]]
    assert "documents[1].pep" in paths and "documents[1].id_document.number" in paths


def test_unknown_pack_kind_and_route_are_404(server: Server) -> None:
    for method, path in (
        ("POST", evaluate_path(pack="nope")),
        ("GET", "/v1/schema/nope"),
        ("GET", "/v1/packs/nope"),
        ("GET", "/v2/nothing"),
    ):
        status, headers, body = server.request(method, path, {} if method == "POST" else None)
        assert_error(status, headers, body, 404)


def test_api_key_missing_or_wrong_is_401(server: Server) -> None:
    for key in (None, "wrong", KEY + "x", ""):
        doc = example("transfer")
        status, headers, body = server.request("POST", evaluate_path(), doc, key=key)
        data = assert_error(status, headers, body, 401)
        assert data["error"] == "missing or wrong API key"
        assert headers["www-authenticate"] == "Bearer"
    status, _, _ = server.request(
        "POST", evaluate_path(), example("transfer"), key=None, headers={"X-API-Key": OTHER_KEY}
    )
    assert status == 200


def test_body_over_the_limit_is_413_with_or_without_content_length(server: Server) -> None:
    big = json.dumps([example("transfer")] * 400).encode()
    assert len(big) > LIMIT
    status, headers, body = server.request("POST", evaluate_path(), raw=big)
    assert_error(status, headers, body, 413)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        chunks = (big[i : i + 65536] for i in range(0, len(big), 65536))
        conn.request(
            "POST",
            evaluate_path(),
            body=chunks,
            headers={"Authorization": f"Bearer {KEY}"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        assert_error(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
            413,
        )
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"", 400),
        (b"{not json", 400),
        (b"\xff\xfe{}", 400),
        (b'{"kind": "customer", "kind": "transfer"}', 400),
        (b'{"amount": NaN}', 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b"1" * 5000, 400),
        (b"[]", 422),
        (b"[1, 2]", 422),
        (b'"text"', 422),
        (b"{}", 422),
        (b'{"kind": "transfer"}', 422),
        (b'{"kind": "nonsense"}', 422),
        (b'{"kind": "transfer", "amount": 1e999999}', 422),
    ],
)
def test_bad_bodies_are_4xx_one_line_json(server: Server, raw: bytes, status: int) -> None:
    got, headers, body = server.request("POST", evaluate_path(), raw=raw)
    assert_error(got, headers, body, status)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "as_of=2026-13-01",
        "as_of=yesterday",
        "as_of=2026-06-01&explain=maybe",
        "as_of=2026-06-01&input_format=xml",
    ],
)
def test_bad_parameters_are_422(server: Server, query: str) -> None:
    status, headers, body = server.request("POST", f"/v1/evaluate?{query}", example("transfer"))
    data = assert_error(status, headers, body, 422)
    assert data["errors"][0]["path"].startswith("query.")


def test_request_id_is_echoed_when_sane(server: Server) -> None:
    _, headers, _ = server.request("GET", "/healthz", headers={"X-Request-Id": "trace-42.a"})
    assert headers["x-request-id"] == "trace-42.a"
    _, headers, _ = server.request("GET", "/healthz", headers={"X-Request-Id": "bad id\t!"})
    assert headers["x-request-id"] != "bad id\t!"
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", headers["x-request-id"])


# -- concurrency and disconnects ---------------------------------------------------------------


def test_concurrent_requests_get_their_own_decisions(server: Server, pk: RulePack) -> None:
    docs = [example(k) for k in ("transfer", "customer", "transfer_unhosted", "customer")]
    for i, doc in enumerate(docs):
        key = "transfer_id" if doc["kind"] == "transfer" else "customer_id"
        doc[key] = f"{doc[key]}-{i}"
    expected = {i: pk.evaluate(d, AS_OF).to_json().encode() for i, d in enumerate(docs)}
    jobs = [i % len(docs) for i in range(48)]
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(lambda i: (i, server.request("POST", evaluate_path(), docs[i])), jobs)
        )
    for i, (status, _, body) in results:
        assert status == 200 and body == expected[i]
    assert len({h["x-request-id"] for _, (_, h, _) in results}) == len(jobs)


def test_client_disconnecting_mid_request_leaves_the_server_serving(server: Server) -> None:
    assert server.log is not None
    with DecisionLog.open(server.log) as audit:
        before = audit.count()
    body = json.dumps(example("transfer")).encode()
    # 1. the body stops half way and the client goes away
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            f"POST {evaluate_path()} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
    # 2. a whole slow request (a batch), then the client leaves before the answer
    batch = json.dumps([example("licence_application")] * 20).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            f"POST {evaluate_path()} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Length: {len(batch)}\r\n\r\n".encode()
            + batch
        )
    time.sleep(0.3)
    status, _, _ = server.request("POST", evaluate_path(), example("transfer"))
    assert status == 200 and server.process.poll() is None
    with DecisionLog.open(server.log) as audit:
        # the half-sent request decided nothing; the abandoned batch may or may not be recorded
        # (each request is one run: its start record, its decisions, its end record)
        assert audit.count() - before in (3, 25)
        assert audit.verify().ok


def test_keys_are_never_logged(server: Server) -> None:
    server.request("POST", evaluate_path(), example("transfer"))
    server.request("POST", evaluate_path(), example("transfer"), key="wrong-key-d81f")
    assert server.log is not None
    for path in (server.output, server.log):
        data = path.read_bytes()
        assert KEY.encode() not in data and OTHER_KEY.encode() not in data
        assert b"wrong-key-d81f" not in data


# -- several workers ----------------------------------------------------------------------


def test_two_workers_serve_and_sum_their_metrics(tmp_path: Path, pk: RulePack) -> None:
    srv = start_server(tmp_path, "--workers", "2", "--no-access-log")
    try:
        doc = example("transfer")
        expected = pk.evaluate(doc, AS_OF).to_json().encode()
        with ThreadPoolExecutor(8) as pool:
            results = list(
                pool.map(lambda _: srv.request("POST", evaluate_path(), doc, key=None), range(24))
            )
        assert all(status == 200 and body == expected for status, _, body in results)
        _, _, body = srv.request("GET", "/metrics", key=None)
        line = 'vasp_rules_decisions_total{kind="transfer",outcome="APPROVE",pack="pk"} 24.0'
        assert line in body.decode()
    finally:
        srv.stop()
    assert srv.process.returncode is not None


# -- the serve command's own errors ------------------------------------------------------------


def test_serve_refuses_bad_options_in_one_line(tmp_path: Path) -> None:
    not_a_log = tmp_path / "notes.db"
    not_a_log.write_text("hello")
    empty_keys = tmp_path / "keys.txt"
    empty_keys.write_text("# none\n")
    for args, words in (
        (["--pack", str(tmp_path / "nowhere")], "no such rule pack"),
        (["--api-key-file", str(tmp_path / "missing.txt")], "missing.txt"),
        (["--api-key-file", str(empty_keys)], "no API key"),
        (["--log", str(not_a_log)], "notes.db"),
    ):
        result = CliRunner().invoke(main, ["serve", "--port", "1", *args])
        assert result.exit_code == 2, result.output
        assert words in result.stderr and len(result.stderr.splitlines()) == 1


def test_the_command_line_works_without_the_service_extra() -> None:
    """Without starlette/uvicorn installed, every other command works and `serve` says what to
    install (one line, exit 2)."""
    script = (
        "import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"
        "from vasp_rules.cli import main\n"
        "sys.argv = ['vasp-rules'] + sys.argv[1:]\n"
        "main()\n"
    )
    ok = subprocess.run(
        [sys.executable, "-c", script, "schema", "transfer"], capture_output=True, cwd=ROOT
    )
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(
        [sys.executable, "-c", script, "serve"], capture_output=True, text=True, cwd=ROOT
    )
    assert refused.returncode == 2
    assert "pip install -e '.[service]'" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1


# -- in process: several packs --------------------------------------------------------------


def test_several_packs_are_chosen_by_name_and_names_must_differ(tmp_path: Path) -> None:
    import shutil

    from vasp_rules.core.errors import InputError
    from vasp_rules.service import ServiceConfig, create_app

    other = tmp_path / "pk-next"
    shutil.copytree(ROOT / "rules" / "pk", other)
    manifest = other / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("name: pk", "name: pk-next", 1))
    app = create_app(ServiceConfig(packs=["pk", str(other)]))
    status, body = asgi_call(app, "GET", "/v1/packs")
    assert status == 200 and [p["name"] for p in json.loads(body)] == ["pk", "pk-next"]
    doc = json.dumps(example("transfer")).encode()
    status, body = asgi_call(app, "POST", f"/v1/evaluate?as_of={AS_OF}&pack=pk-next", doc)
    assert status == 200 and json.loads(body)["rulepack"]["name"] == "pk-next"
    status, body = asgi_call(app, "POST", f"/v1/evaluate?as_of={AS_OF}", doc)
    assert status == 200 and json.loads(body)["rulepack"]["name"] == "pk"
    with pytest.raises(InputError, match="two packs are named 'pk'"):
        create_app(ServiceConfig(packs=["pk", str(ROOT / "rules" / "pk")]))


# -- property: bad input never gets a 500 -------------------------------------------------------

_SERVICE_APP: list[Any] = []


def _app() -> Any:
    if not _SERVICE_APP:
        from vasp_rules.service import ServiceConfig, create_app

        _SERVICE_APP.append(create_app(ServiceConfig(max_body_bytes=100_000)))
    return _SERVICE_APP[0]


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["transfer", "customer", "transfer_unhosted"]),
    edits=st.lists(st.tuples(st.integers(0, 1000), _VALUES), max_size=3),
    route=st.sampled_from(["/v1/evaluate", "/v1/explain?suggest=false", "/v1/whatif"]),
    mangle=st.sampled_from(["none", "truncate", "list", "garbage"]),
)
def test_mutated_requests_never_get_a_500(
    kind: str, edits: list[tuple[int, Any]], route: str, mangle: str
) -> None:
    doc: Any = example(kind)
    for index, value in edits:
        keys = sorted(doc)
        doc[keys[index % len(keys)]] = value
    body: Any = {"document": doc, "set": ["kind=null"]} if route == "/v1/whatif" else doc
    raw = json.dumps(body).encode()
    if mangle == "truncate":
        raw = raw[: len(raw) // 2]
    elif mangle == "list":
        raw = json.dumps([doc, doc]).encode()
    elif mangle == "garbage":
        raw = bytes(range(256))
    sep = "&" if "?" in route else "?"
    status, answer = asgi_call(_app(), "POST", f"{route}{sep}as_of={AS_OF}", raw)
    assert status in (200, 400, 413, 422), answer
    if status != 200:
        error = json.loads(answer)["error"]
        assert error and "\n" not in error
