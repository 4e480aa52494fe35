"""The OpenAPI document matches the implementation: same routes and methods, and real responses
validate against the documented schemas."""

from __future__ import annotations

import io
import json
from importlib import resources

import jsonschema
import numpy as np
import pytest

from conftest import auth, encode, photo_like

DOC = json.loads(resources.files("sentry_image.service").joinpath("openapi.json").read_text())


def schema_for(path: str, method: str, status: int) -> dict:
    content = DOC["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**content, "components": DOC["components"]}


def check(response, path: str, method: str) -> None:
    assert str(response.status_code) in DOC["paths"][path][method]["responses"], (path, response.status_code)
    schema = schema_for(path, method, response.status_code)
    jsonschema.validate(response.get_json(), schema)


def test_documented_routes_equal_implemented_routes(client) -> None:
    implemented = set()
    for rule in client.application.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                implemented.add((rule.rule.removeprefix("/api/v1"), m.lower()))
    documented = {(p, m) for p, ops in DOC["paths"].items() for m in ops}
    assert implemented == documented


def test_openapi_document_is_valid() -> None:
    from openapi_spec_validator import validate

    validate(DOC)


@pytest.mark.parametrize(
    "case",
    ["health", "models", "detect_ok", "detect_batch", "detect_bad", "detect_401", "detect_415", "active", "pair_bad"],
)
def test_responses_match_schema(client, case: str) -> None:
    jpeg = encode(photo_like(np.random.default_rng(1), 80), "JPEG")
    if case == "health":
        check(client.get("/api/v1/health"), "/health", "get")
    elif case == "models":
        check(client.get("/api/v1/models", headers=auth()), "/models", "get")
    elif case == "detect_ok":
        check(client.post("/api/v1/detect", data=jpeg, headers=auth({"Content-Type": "image/jpeg"})), "/detect", "post")
    elif case == "detect_batch":
        data = {"file": [(io.BytesIO(jpeg), "a.jpg"), (io.BytesIO(b"x"), "b.jpg")]}
        check(
            client.post("/api/v1/detect", data=data, headers=auth(), content_type="multipart/form-data"),
            "/detect",
            "post",
        )
    elif case == "detect_bad":
        check(
            client.post("/api/v1/detect", data=b"nope", headers=auth({"Content-Type": "image/png"})), "/detect", "post"
        )
    elif case == "detect_401":
        check(client.post("/api/v1/detect", data=jpeg, content_type="image/jpeg"), "/detect", "post")
    elif case == "detect_415":
        check(client.post("/api/v1/detect", data="x", headers=auth(), content_type="text/plain"), "/detect", "post")
    elif case == "active":
        check(client.put("/api/v1/models/active", json={"id": "tiny-npr"}, headers=auth()), "/models/active", "put")
    elif case == "pair_bad":
        check(client.post("/api/v1/pair", json={"code": "12"}), "/pair", "post")
