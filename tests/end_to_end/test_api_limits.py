"""The API's refusals and its documentation, through real HTTP against ``organiser serve``:
bad input gets the CLI's own messages and marks nothing; tokens and roles; ``url`` fetches
refused before any connection; the body limit; the OpenAPI document validates; Swagger UI
loads in a real headless chromium with no request leaving 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from openapi_spec_validator import validate
from test_api import (  # noqa: F401  (api, label_server, start_api: fixtures)
    ALICE,
    BASE,
    Api,
    api,
    label_server,
    labels_payload,
    start_api,
)
from test_pds4_marking import BASE as LABEL
from test_pds4_marking import _hostile

from conftest import Env

XML = {"Content-Type": "application/xml"}


def cli_errors(env: Env, *args: str) -> list[str]:
    """Run ``organiser reserve ARGS``; check it was refused; give its error lines."""
    result = env.run("reserve", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    return [line.removeprefix("Error: ") for line in result.stderr.strip().splitlines()]


def api_errors(answer: Any) -> list[str]:
    assert answer.status_code == 400, answer.text
    return [error["message"] for error in answer.json()["errors"]]


@pytest.mark.slow
def test_bad_input_gets_the_cli_message_and_marks_nothing(env: Env, api: Api) -> None:  # noqa: F811
    before = env.snapshot()
    hostile = _hostile(env.tmp, env.server.url)
    bad_row = labels_payload("bad")
    bad_row["labels"][0]["related_resource"] = "urn:nasa:pds:Not A LIDVID::1.0"
    bad_label = LABEL.replace(
        "urn:nasa:pds:insight_cameras</logical", "urn:nasa:pds:insight cameras</logical"
    )
    assert bad_label != LABEL
    cases: list[tuple[str, bytes, dict[str, str], dict[str, str]]] = [
        ("malformed.json", b'{"labels": [{"title": "x",', {"node": "img"}, {}),
        ("laughs.xml", hostile["laughs.xml"][0], {"node": "img"}, XML),
        ("entity.xml", hostile["entity_url.xml"][0], {"node": "img"}, XML),
        ("unknown_node.xml", LABEL.encode(), {"node": "moon"}, XML),
        ("bad_lidvid.xml", bad_label.encode(), {"node": "img"}, XML),
        ("bad_lidvid.json", json.dumps(bad_row).encode(), {"node": "img"}, {}),
    ]
    for name, data, params, headers in cases:
        path = env.tmp / name
        path.write_bytes(data)
        options = [f"--{key}={value}" for key, value in params.items()]
        expected = [  # the API names its node parameter, the command line its --node
            line.replace(str(path), "body").replace("--node ", "node ")
            for line in cli_errors(env, str(path), *options)
        ]
        answer = api.call(
            "POST", "/dois", params={"action": "reserve", **params}, data=data, headers=headers
        )
        assert api_errors(answer) == expected, name
        assert answer.json()["errors"][0]["name"] in ("InputError", "UserError"), name
        assert env.snapshot() == before, name
    assert env.server.datacite.seen == []  # the entity's URL was never fetched


@pytest.mark.slow
def test_tokens_and_roles(env: Env, api: Api) -> None:  # noqa: F811
    payload = labels_payload("auth")
    reserve = {"action": "reserve", "node": "img"}
    assert api.call("GET", "/dois", None).status_code == 401
    assert api.call("GET", "/dois", None).headers["WWW-Authenticate"].startswith("Bearer")
    assert api.call("GET", "/dois", "not-a-token").status_code == 401
    assert (
        api.call("GET", "/dois", None, headers={"Authorization": "Basic eDp5"}).status_code == 401
    )
    for method, path in [
        ("GET", "/doi?identifier=1"),
        ("POST", "/dois?action=reserve"),
        ("POST", "/doi/submit?identifier=1"),
        ("GET", "/dois/check"),
        ("PUT", "/doi"),
    ]:
        assert api.call(method, path, None).status_code == 401, (method, path)

    refused = api.call("POST", "/dois", "rita", params=reserve, json=payload)
    assert refused.status_code == 403
    assert "reader" in refused.json()["errors"][0]["message"]
    other = api.call(
        "POST", "/dois", params={**reserve, "submitter": "eve@example.org"}, json=payload
    )
    assert other.status_code == 403  # a submitter submits as its own address only
    assert env.records() == []

    mine = api.call("POST", "/dois", params={**reserve, "submitter": ALICE.upper()}, json=payload)
    assert mine.status_code == 200, mine.text
    api.token("bob", "submitter", "bob@example.org")
    doi = mine.json()[0]["doi"]
    assert api.call("POST", "/doi/submit", "bob", params={"identifier": doi}).status_code == 403
    assert api.call("POST", "/doi/release", "alice", params={"identifier": doi}).status_code == 403
    not_in_review = api.call("POST", "/doi/release", "olive", params={"identifier": doi})
    assert api_errors(not_in_review) == [f"{doi} is to-be-reserved, not in review"]

    listed = env.run("token", "list")
    assert listed.returncode == 0
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["alice", "submitter", ALICE],
        ["bob", "submitter", "bob@example.org"],
        ["olive", "operator", "olive@example.org"],
        ["rita", "reader", "-"],
    ]
    for secret in api.tokens.values():
        assert secret not in listed.stdout
    assert env.run("token", "revoke", "bob").returncode == 0
    assert api.call("GET", "/dois", "bob").status_code == 401
    again = env.run("token", "revoke", "bob")
    assert again.returncode == 2 and "already revoked" in again.stderr
    taken = env.run("token", "add", "bob", "--role", "reader")
    assert taken.returncode == 2 and "already exists" in taken.stderr
    needs_email = env.run("token", "add", "sam", "--role", "submitter")
    assert needs_email.returncode == 2 and "--email" in needs_email.stderr
    assert "bob" in env.ok("token", "list").stdout.splitlines()[1]
    assert "revoked" in env.ok("token", "list").stdout.splitlines()[1]


@pytest.fixture
def recorder() -> Iterator[tuple[int, list[tuple[str, int]]]]:
    """A TCP server on 127.0.0.1 that records every connection made to it (and answers
    nothing); gives (port, connections)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    seen: list[tuple[str, int]] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, peer = listener.accept()
            except TimeoutError:
                continue
            seen.append(peer)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], seen
    stop.set()
    thread.join()
    listener.close()


@pytest.mark.slow
def test_urls_are_refused_before_any_connection(
    env: Env,
    api: Api,  # noqa: F811
    recorder: tuple[int, list[tuple[str, int]]],
    label_server: tuple[str, list[str]],  # noqa: F811
) -> None:
    port, connections = recorder
    base_url, asked = label_server
    target = f"http://127.0.0.1:{port}/label.xml"
    cases = {
        target: f"{target}: host 127.0.0.1 is not in [api] url_hosts; it is not fetched",
        f"http://localhost:{port}/label.xml": "resolves to",  # listed by name, but loopback
        "http://10.0.0.7/label.xml": "host 10.0.0.7 is not in [api] url_hosts",
        "http://192.168.1.1/label.xml": "host 192.168.1.1 is not in [api] url_hosts",
        "http://example.org/label.xml": "host example.org is not in [api] url_hosts",
        "ftp://pds.nasa.gov/label.xml": "only http:// and https:// URLs are read",
        "http://user:secret@pds.nasa.gov/x.xml": "a URL with a user or password is not fetched",
        f"{base_url}/redirect?to={target}": "host 127.0.0.1 is not in [api] url_hosts",
    }
    for url, problem in cases.items():
        answer = api.call("POST", "/dois", params={"action": "reserve", "node": "img", "url": url})
        [message] = api_errors(answer)
        assert problem in message, (url, message)
    assert connections == []  # nothing ever reached 127.0.0.1's recorder
    assert asked == [f"/redirect?to={target}"]  # the allowed host was asked; its redirect not
    assert env.records() == []


@pytest.mark.slow
def test_a_body_over_the_limit_gets_413(env: Env, api: Api) -> None:  # noqa: F811
    data = b" " * 300_001
    answer = api.call(
        "POST", "/dois", params={"action": "reserve", "node": "img"}, data=data, headers=XML
    )
    assert answer.status_code == 413
    assert "max_body_bytes" in answer.json()["errors"][0]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for _ in range(40):
            yield b" " * 10_000

    chunked = api.call("POST", "/dois", params={"action": "reserve"}, data=chunks(), headers=XML)
    assert chunked.status_code == 413
    anonymous = api.call(
        "POST", "/dois", None, params={"action": "reserve"}, data=data, headers=XML
    )
    assert anonymous.status_code == 401, anonymous.text  # refused before its body is read
    assert env.records() == []


def _raw_post(api: Api, token: str) -> bytes:  # noqa: F811
    """Send POST /dois with a 1 GB Content-Length and no body at all over a raw socket; give
    the status line of the answer (the server must answer without waiting for the body)."""
    port = urlsplit(api.url).port
    with socket.create_connection(("127.0.0.1", port or 80), timeout=10) as connection:
        connection.sendall(
            (
                f"POST {BASE}/dois?action=reserve&node=img HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)  # times out (a failure) if the server waits
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.slow
def test_a_bad_token_is_refused_before_the_body_is_read(api: Api) -> None:  # noqa: F811
    assert _raw_post(api, "junk") == b"HTTP/1.1 401 Unauthorized"
    assert _raw_post(api, api.tokens["alice"]) == b"HTTP/1.1 413 Request Entity Too Large"


@pytest.mark.slow
def test_the_openapi_document_validates(api: Api) -> None:  # noqa: F811
    answer = api.call("GET", "/openapi.json", None)
    assert answer.status_code == 200
    document = answer.json()
    validate(document)
    assert document["servers"] == [{"url": BASE}]
    assert document["info"]["version"] == "0.2"
    operations = {
        (path, method): spec["operationId"]
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
    }
    assert operations == {
        ("/dois", "get"): "get_dois",
        ("/dois", "post"): "post_dois",
        ("/doi", "get"): "get_doi_from_id",
        ("/doi", "put"): "put_doi_from_id",
        ("/doi/submit", "post"): "post_submit_doi",
        ("/doi/release", "post"): "post_release_doi",
        ("/doi/reject", "post"): "post_reject_doi",
        ("/dois/check", "get"): "get_check_dois",
    }
    parameters = {p["name"] for p in document["paths"]["/dois"]["get"]["parameters"]}
    assert {"doi", "submitter", "node", "status", "ids", "start_date", "end_date"} <= parameters
    assert "bearer" in json.dumps(document["components"]["securitySchemes"]).lower()
    codes = {
        code
        for methods in document["paths"].values()
        for spec in methods.values()
        for code in spec["responses"]
    }
    assert "422" not in codes and "400" in codes  # the codes the server really answers
    assert "HTTPValidationError" not in document["components"]["schemas"]


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian's chromium and chromium-driver are not installed (scripts/test installs "
    "them when run as root)",
)
def test_swagger_ui_loads_in_chromium_with_no_outside_request(
    api: Api,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager never downloads anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        f"--user-data-dir={tmp_path / 'profile'}",
        # a request elsewhere fails here instead of going out, and is still in the log below
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.get(f"{api.url}/ui/")
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
        title = driver.find_element(By.CSS_SELECTOR, ".info .title").text
        assert "Planetary Data System DOI Service API" in title
        blocks = driver.find_elements(By.CSS_SELECTOR, ".opblock")
        summaries = " ".join(b.text for b in blocks)
        for path in ("/dois", "/doi", "/doi/submit", "/dois/check"):
            assert path in summaries
        assert driver.find_elements(By.CSS_SELECTOR, ".btn.authorize")  # bearer tokens
        requested = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                requested.append(message["params"]["request"]["url"])
    finally:
        driver.quit()
    assert any(url.endswith("/openapi.json") for url in requested), requested
    assert any(url.endswith("/swagger-ui-bundle.js") for url in requested), requested
    outside = [
        url
        for url in requested
        # browser-internal pages (chrome://, data:, blob:) never leave the machine
        if urlsplit(url).scheme in ("http", "https", "ws", "wss", "ftp")
        and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert outside == []


@pytest.mark.slow
def test_a_submitter_change_to_an_approved_record_waits_for_review(env: Env, api: Api) -> None:  # noqa: F811
    rows = api.call(
        "POST", "/dois", params={"action": "reserve", "node": "img"}, json=labels_payload("x")
    )
    assert rows.status_code == 200, rows.text
    [doi] = [r["doi"] for r in rows.json()]
    assert env.run("-s").returncode == 0
    assert api.call("POST", "/doi/submit", params={"identifier": doi}).status_code == 200
    released = api.call("POST", "/doi/release", "olive", params={"identifier": doi})
    assert released.status_code == 200, released.text
    [approved] = [r for r in env.records() if r.doi == doi]

    revised = labels_payload("x", node_title=" (unreviewed)")
    held = api.call("POST", "/dois", params={"action": "update", "node": "img"}, json=revised)
    assert held.status_code == 200, held.text
    assert [(r["doi"], r["status"], r["organiser_status"]) for r in held.json()] == [
        (doi, "review", "update-review")
    ]
    [record] = [r for r in env.records() if r.doi == doi]
    # the approved metadata stays; the change is held for an operator, and no pass sends it
    assert (record.attributes, record.url) == (approved.attributes, approved.url)
    assert "(unreviewed)" in record.pending
    assert env.run("-u", "-r").returncode == 0
    assert env.remote[doi] == "draft"
    assert [r.status for r in env.records() if r.doi == doi] == ["update-review"]
