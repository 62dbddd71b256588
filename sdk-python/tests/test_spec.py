"""The drift check between openapi.yaml and this SDK.

* every operation has a method on Client, AsyncClient (a coroutine) and, but
  batch, Batch, and no other public method exists;
* each method's parameters are exactly the operation's request properties, and
  calling it with all of them sends exactly those properties;
* models.py has one model per schema, with the schema's properties (make
  generate writes it; `make check-generated` checks it is up to date).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
import yaml

import centrifuge_sdk as cs
from centrifuge_sdk import models

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


# Request properties the SDK sends in place of others, never together: the
# base64 forms. ``bytes`` data goes as b64data (test_bytes_send_b64data);
# subscribe's data and info are JSON only.
ALTERNATIVES = {"publish": {"b64data"}, "broadcast": {"b64data"}, "subscribe": {"b64data", "b64info"}}


def operations() -> dict[str, list[str]]:
    """Wire method name (the path) -> sorted properties of its request schema
    (less the ALTERNATIVES)."""
    ops = {}
    for path, item in SPEC["paths"].items():
        if path.startswith("/admin/"):
            continue  # the admin API (tag admin): not part of the server API client
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = SCHEMAS[ref.rsplit("/", 1)[1]]
        op = path.lstrip("/")
        ops[op] = sorted(set(schema.get("properties", {})) - ALTERNATIVES.get(op, set()))
    return ops


OPS = operations()

# Public methods that are not API operations.
HELPERS = {"close", "aclose"}


def public_methods(cls: type) -> set[str]:
    return {n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")} - HELPERS


def parameters(method: Any) -> list[str]:
    return sorted(p for p in inspect.signature(method).parameters if p != "self")


def test_spec_has_operations() -> None:
    assert "publish" in OPS and len(OPS) >= 13


@pytest.mark.parametrize("cls", [cs.Client, cs.AsyncClient, cs.Batch])
def test_every_operation_has_a_method(cls: type) -> None:
    want = set(OPS) - ({"batch"} if cls is cs.Batch else set())
    assert public_methods(cls) == want


@pytest.mark.parametrize(
    "cls, op",
    [
        pytest.param(cls, op, id=f"{cls.__name__}.{op}")
        for cls in (cs.Client, cs.AsyncClient, cs.Batch)
        for op in sorted(OPS)
        if not (cls is cs.Batch and op == "batch")
    ],
)
def test_parameters_are_request_properties(cls: type, op: str) -> None:
    method = getattr(cls, op)
    assert parameters(method) == OPS[op]
    if cls is cs.AsyncClient:
        assert inspect.iscoroutinefunction(method)


# Every method called with every parameter.
FULL: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "publish": (("ch", 1), {"skip_history": True, "tags": {"a": "b"}, "idempotency_key": "k", "delta": True}),
    "broadcast": ((["ch"], 1), {"skip_history": True, "tags": {"a": "b"}, "idempotency_key": "k", "delta": True}),
    "subscribe": (("u", "ch"), {
        "client": "c", "data": 1, "info": 2, "recover_since": models.StreamPosition(offset=1, epoch="e"),
        "override": models.ChannelOptionsOverride(presence=models.BoolValue(value=True)),
    }),
    "unsubscribe": (("u", "ch"), {"client": "c"}),
    "disconnect": (("u",), {"client": "c", "disconnect": models.Disconnect(code=4000, reason="r"), "whitelist": ["k"]}),
    "refresh": (("u",), {"client": "c", "expired": True, "expire_at": 1, "info": {"i": 1}}),
    "presence": (("ch",), {}),
    "presence_stats": (("ch",), {}),
    "history": (("ch",), {"limit": 1, "since": models.StreamPosition(offset=1, epoch="e"), "reverse": True}),
    "history_remove": (("ch",), {}),
    "channels": ((), {"pattern": "*"}),
    "info": ((), {}),
}


def full_batch() -> cs.Batch:
    b = cs.Batch()
    for op, (args, kwargs) in FULL.items():
        getattr(b, op)(*args, **kwargs)
    return b


def capture() -> tuple[dict[str, Any], httpx.MockTransport]:
    bodies: dict[str, Any] = {}

    def handler(req: httpx.Request) -> httpx.Response:
        bodies[req.url.path.rsplit("/", 1)[1]] = json.loads(req.content)
        return httpx.Response(200, json={"result": {}, "replies": []})

    return bodies, httpx.MockTransport(handler)


def test_full_calls_cover_the_spec() -> None:
    assert set(FULL) | {"batch"} == set(OPS)


def check_bodies(bodies: dict[str, Any]) -> None:
    for op, props in OPS.items():
        assert sorted(bodies[op]) == props, op
    seen = set()
    for cmd in bodies["batch"]["commands"]:
        [(op, req)] = cmd.items()
        assert sorted(req) == OPS[op], f"batch {op}"
        seen.add(op)
    assert seen == set(OPS) - {"batch"}


def test_sync_sends_every_property() -> None:
    bodies, transport = capture()
    with cs.Client("http://h", "k", http_client=httpx.Client(transport=transport)) as c:
        for op, (args, kwargs) in FULL.items():
            try:
                getattr(c, op)(*args, **kwargs)
            except cs.ResponseError:
                pass  # {"result": {}} is not a valid result of every method
        c.batch(full_batch(), parallel=True)
    check_bodies(bodies)


def test_async_sends_every_property() -> None:
    bodies, transport = capture()

    async def go() -> None:
        async with cs.AsyncClient("http://h", "k", http_client=httpx.AsyncClient(transport=transport)) as c:
            for op, (args, kwargs) in FULL.items():
                try:
                    await getattr(c, op)(*args, **kwargs)
                except cs.ResponseError:
                    pass
            await c.batch(full_batch(), parallel=True)

    asyncio.run(go())
    check_bodies(bodies)


def test_models_match_schemas() -> None:
    generated = {
        name for name, obj in vars(models).items()
        if isinstance(obj, type) and issubclass(obj, pydantic.BaseModel) and obj is not pydantic.BaseModel
    }
    assert generated == set(SCHEMAS)
    for name, schema in SCHEMAS.items():
        model = getattr(models, name)
        assert set(model.model_fields) == set(schema.get("properties", {})), name
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert required == set(schema.get("required", [])), name


def test_bytes_send_b64data() -> None:
    bodies, transport = capture()
    with cs.Client("http://h", "k", http_client=httpx.Client(transport=transport)) as c:
        for call in (lambda: c.publish("ch", b"\x00\x01"), lambda: c.broadcast(["ch"], bytearray(b"\x00\x01"))):
            try:
                call()
            except cs.ResponseError:
                pass
    assert bodies["publish"] == {"channel": "ch", "b64data": "AAE="}
    assert bodies["broadcast"] == {"channels": ["ch"], "b64data": "AAE="}
