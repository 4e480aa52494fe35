"""Fuzzing with hypothesis: mutated seed files (tests/fuzz/corpus) and generated requests through every
parser of untrusted input. Why hypothesis and not atheris: it runs inside pytest with the rest of the
suite, it generates structured input (JSON documents, multipart bodies, model cards) as readily as
mutated bytes, and a run is bounded by a number of examples, so CI gets a fixed, reproducible budget
(``derandomize``). Coverage-guided byte fuzzing of Pillow's C decoders is what atheris would add; their
crashes would surface here too, as our harnesses call them.

CI runs a bounded pass (about 30 s). The long run, with random seeds and a saved example database:

    scripts/fuzz.sh            # SENTRY_FUZZ_EXAMPLES (default 20000) examples per harness

Every crash found becomes a file in tests/fuzz/regressions/, which the test below runs through all
byte harnesses forever after.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets

HERE = Path(__file__).resolve().parent / "fuzz"
SEEDS = [p.read_bytes() for p in sorted((HERE / "corpus").iterdir())]
REGRESSIONS = sorted((HERE / "regressions").glob("*")) if (HERE / "regressions").is_dir() else []
LONG = "SENTRY_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(
    max_examples=int(os.environ.get("SENTRY_FUZZ_EXAMPLES", "1500")),
    deadline=None,
    derandomize=not LONG,
    database=None if not LONG else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the broken files


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed file with 1-8 mutations: bit flips, interesting bytes, inserts, deletes, cuts, splices."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "byte", "u16", "insert", "delete", "cut", "splice", "repeat"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[pos] = draw(st.sampled_from(INTERESTING))
        elif op == "u16":
            data[pos : pos + 2] = draw(st.sampled_from([b"\x00\x00", b"\xff\xff", b"\x7f\xff", b"\x80\x00"]))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 256))]
        elif op == "cut":
            del data[pos:]
        elif op == "splice":
            other = draw(st.sampled_from(SEEDS))
            start = draw(st.integers(0, len(other) - 1))
            data[pos:] = other[start : start + draw(st.integers(1, 4096))]
        else:
            chunk = data[pos : pos + draw(st.integers(1, 64))]
            data[pos:pos] = chunk * draw(st.integers(2, 50))
    return bytes(data)


image_bytes = st.one_of(mutated(), st.binary(max_size=512), st.sampled_from(SEEDS))


@pytest.mark.parametrize("target", sorted(targets.BYTE_TARGETS))
def test_fuzz_byte_parsers(target: str) -> None:
    fn = targets.BYTE_TARGETS[target]

    @FUZZ
    @given(image_bytes)
    def run(data: bytes) -> None:
        fn(data)

    run()


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_fuzz_regressions(path: Path) -> None:
    for fn in targets.BYTE_TARGETS.values():
        fn(path.read_bytes())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
url_like = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["http://127.0.0.1/x.png", "https://example.com/a.jpg", "file:///etc/passwd", "data:image/png,"]),
)
detect_json = st.one_of(
    json_values,
    st.fixed_dictionaries({"url": st.one_of(url_like, json_values)}),
    st.fixed_dictionaries({"urls": st.one_of(st.lists(url_like, max_size=70), json_values)}),
)


@st.composite
def multipart(draw: st.DrawFn) -> tuple[str, bytes]:
    """A multipart body, well formed or damaged, with its content type."""
    boundary = draw(st.text(alphabet="abcdefXYZ0123456789-", min_size=1, max_size=30))
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.text(max_size=10).map(lambda s: s.replace('"', "")))
        filename = draw(st.one_of(st.none(), st.text(max_size=20).map(lambda s: s.replace('"', ""))))
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        body = draw(st.one_of(st.sampled_from(SEEDS), st.binary(max_size=200)))
        parts.append(f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode(errors="replace") + body + b"\r\n")
    raw = b"".join(parts) + f"--{boundary}--\r\n".encode()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut]
    header_boundary = boundary if draw(st.integers(0, 4)) else draw(st.text('abc;=" -', max_size=10))
    return f"multipart/form-data; boundary={header_boundary}", raw


content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "image/png", "image/jpeg", "application/octet-stream", "text/plain", ""]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),  # what an HTTP header can hold
)


@pytest.fixture(scope="module")
def service_app():
    from sentry_image.registry.store import ModelStore
    from sentry_image.service.app import create_app
    from sentry_image.service.config import ServiceConfig

    config = ServiceConfig(max_bytes=64 * 1024, max_batch=8)
    empty = Path(os.environ.get("TMPDIR", "/tmp"))  # no built-in models: /detect answers 503 after parsing
    store = ModelStore(builtin_dir=empty / "sentry-fuzz-no-models", user_dir=empty / "sentry-fuzz-no-models")
    return create_app(config, "t" * 43, store=store), config


def test_fuzz_detect_request_parsers(service_app) -> None:
    app, config = service_app

    @FUZZ
    @given(
        st.one_of(
            st.tuples(st.just("application/json"), detect_json.map(lambda v: json.dumps(v).encode())),
            multipart(),
            st.tuples(content_types, st.one_of(image_bytes, st.binary(max_size=300))),
        )
    )
    def run(request: tuple[str | None, bytes]) -> None:
        targets.request_parsers(app, config, *request)

    run()


def test_fuzz_json_endpoints(service_app) -> None:
    app, _ = service_app
    client = app.test_client()
    client.environ_base.update({"HTTP_HOST": "127.0.0.1:8765", "HTTP_X_SENTRY_TOKEN": "t" * 43})

    @FUZZ
    @given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
    def run(body: bytes) -> None:
        targets.json_endpoints(client, body)

    run()


def _valid_card() -> dict:
    return json.loads(
        (
            Path(__file__).resolve().parents[1] / "backend/sentry_image/builtin_models/sentry-effnet-lite1/model.json"
        ).read_text(encoding="utf-8")
    )


@st.composite
def card_text(draw: st.DrawFn) -> bytes:
    """A model card with random fields replaced, removed or retyped; or raw mutated bytes of one."""
    card = _valid_card()
    if draw(st.integers(0, 5)) == 0:
        raw = bytearray(json.dumps(card).encode())
        for _ in range(draw(st.integers(1, 5))):
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] = draw(st.integers(0, 255))
        return bytes(raw)

    def mangle(node: object, depth: int) -> object:
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            choice = draw(st.integers(0, 3))
            if choice == 0:
                del node[key]
            elif choice == 1:
                node[key] = draw(json_values)
            elif depth < 4:
                node[key] = mangle(node[key], depth + 1)
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
        return node

    for _ in range(draw(st.integers(1, 4))):
        card = mangle(card, 0)
    return json.dumps(card).encode()


def test_fuzz_model_card_loader() -> None:
    @FUZZ
    @given(card_text())
    def run(text: bytes) -> None:
        targets.model_card(text)

    run()
