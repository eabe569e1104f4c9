"""README's "The API" section is correct for every route: its table is the OpenAPI document's list of routes,
credentials and refusal statuses, and the curl examples of "Feeding it your billing data" work as written."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from django.test import Client

README = Path(__file__).resolve().parents[2] / "README.md"
METHODS = ("get", "put", "post", "patch", "delete")

pytestmark = pytest.mark.django_db


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def readme_routes() -> dict[tuple[str, str], set[int]]:
    rows = {}
    for line in section("The API").splitlines():
        match = re.match(r"\| `(GET|PUT|POST|PATCH|DELETE) ([^`]+)`[^|]*\|[^|]*\| ([\d, ]+) \|$", line)
        if match:
            method, path, codes = match.groups()
            rows[(method, "/api/v1/" + path)] = {int(c) for c in codes.split(",")}
    return rows


def test_the_readme_table_is_the_openapi_document(client):
    document = client.get("/api/openapi.json").json()
    declared = {(method.upper(), path): {int(c) for c in op["responses"] if int(c) >= 400}
                for path, ops in document["paths"].items() for method, op in ops.items() if method in METHODS}
    listed = readme_routes()
    assert set(listed) == set(declared), {"only in README": set(listed) - set(declared),
                                          "only in the document": set(declared) - set(listed)}
    wrong = {route: (listed[route], declared[route]) for route in listed if listed[route] != declared[route]}
    assert not wrong, wrong


def curl_commands(title: str) -> list[list[str]]:
    block = re.search(r"```sh\n(.*?)```", section(title), re.S).group(1)
    joined = block.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip().startswith("curl")]


def test_the_billing_curl_examples_work_as_written(api_key):
    client = Client()
    commands = curl_commands("Feeding it your billing data")
    assert len(commands) >= 3
    for argv in commands:
        method, url, headers, body = "GET", None, {}, None
        args = iter(argv[1:])
        for arg in args:
            if arg == "-X":
                method = next(args)
            elif arg == "-H":
                name, _, value = next(args).partition(":")
                headers[name.strip().lower()] = value.strip().replace("$KEY", api_key)
            elif arg == "-d":
                body = next(args)
            elif not arg.startswith("-"):
                url = arg
        path = "/" + url.split("/", 1)[1]
        json.loads(body)  # the example's body is JSON
        response = client.generic(method, path, data=body, content_type=headers.get("content-type", ""),
                                  headers={"Authorization": headers["authorization"]})
        assert response.status_code == 201, (argv, response.content)
