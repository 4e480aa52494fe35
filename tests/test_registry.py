"""Model cards and the model store: round trip, selection, and every refusal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from sentry_image.errors import ModelError, NoModelError
from sentry_image.registry.card import read_card, sha256_file, validate_card, write_card
from sentry_image.registry.loading import load_model_folder
from sentry_image.registry.store import ModelStore


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_card(folder: Path, **changes) -> None:
    card = json.loads((folder / "model.json").read_text())
    card.update(changes)
    (folder / "model.json").write_text(json.dumps(card))


def test_card_round_trip(trained_model_dir: Path, tmp_path: Path) -> None:
    card = read_card(trained_model_dir)
    write_card(tmp_path, card)
    assert read_card(tmp_path) == card
    assert card["architecture"]["name"] == "npr"
    assert card["sha256"] == sha256_file(trained_model_dir / "model.safetensors")
    assert "val" in card["metrics"] and "history" in card["training"]


def test_card_schema_rejects_missing_fields(trained_model_dir: Path) -> None:
    card = read_card(trained_model_dir)
    del card["calibration"]
    with pytest.raises(ModelError, match="calibration"):
        validate_card(card)


def test_store_lists_imports_and_selects(store_with_model: ModelStore) -> None:
    assert [m.id for m in store_with_model.list()] == ["tiny-npr"]
    assert store_with_model.active_id() == "tiny-npr"
    assert store_with_model.use("tiny-npr").id == "tiny-npr"


def test_no_model_installed_is_a_clear_error(sentry_home: Path, empty_builtin: Path) -> None:
    store = ModelStore(builtin_dir=empty_builtin)
    with pytest.raises(NoModelError, match="no model installed"):
        store.active()


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("bad_json", "not valid JSON"),
        ("schema", "invalid"),
        ("unknown_arch", "unknown architecture"),
        ("sha", "does not match"),
        ("state_dict", "do not fit"),
        ("no_weights", "no model.safetensors"),
    ],
)
def test_import_refuses_bad_models_and_changes_nothing(
    breakage: str, message: str, trained_model_dir: Path, tmp_path: Path, sentry_home: Path, empty_builtin: Path
) -> None:
    folder = copy_model(trained_model_dir, tmp_path / "bad")
    if breakage == "bad_json":
        (folder / "model.json").write_text("{not json")
    elif breakage == "schema":
        edit_card(folder, thresholds={"likely_ai": "high"})
    elif breakage == "unknown_arch":
        edit_card(folder, architecture={"name": "mystery-net", "options": {}})
    elif breakage == "sha":
        edit_card(folder, sha256="0" * 64)
    elif breakage == "state_dict":
        state = load_file(str(folder / "model.safetensors"))
        state.pop(next(k for k in state if k.endswith(".weight")))
        save_file(state, str(folder / "model.safetensors"))
        edit_card(folder, sha256=sha256_file(folder / "model.safetensors"))
    elif breakage == "no_weights":
        (folder / "model.safetensors").unlink()
    store = ModelStore(builtin_dir=empty_builtin)
    with pytest.raises(ModelError, match=message):
        store.import_folder(folder)
    assert store.list() == []
    assert not any(store.user_dir.iterdir())


def test_duplicate_import_is_refused(store_with_model: ModelStore, trained_model_dir: Path) -> None:
    with pytest.raises(ModelError, match="already installed"):
        store_with_model.import_folder(trained_model_dir)


def test_builtin_cannot_be_removed_user_model_can(trained_model_dir: Path, tmp_path: Path, sentry_home: Path) -> None:
    builtin = tmp_path / "builtin"
    copy_model(trained_model_dir, builtin / "tiny-npr")
    store = ModelStore(builtin_dir=builtin)
    with pytest.raises(ModelError, match="built in"):
        store.remove("tiny-npr")
    other = copy_model(trained_model_dir, tmp_path / "other")
    edit_card(other, id="tiny-npr-2")
    store.import_folder(other)
    store.use("tiny-npr-2")
    store.remove("tiny-npr-2")
    assert [m.id for m in store.list()] == ["tiny-npr"]
    assert store.active_id() == "tiny-npr"


def test_loaded_model_is_in_eval_mode(trained_model_dir: Path) -> None:
    model, card = load_model_folder(trained_model_dir)
    assert not model.training and card["id"] == "tiny-npr"


def test_use_unknown_model_is_refused(store_with_model: ModelStore) -> None:
    with pytest.raises(ModelError, match="no installed model"):
        store_with_model.use("nope")


def test_store_sees_changes_made_by_another_store_instance(store_with_model: ModelStore, empty_builtin: Path) -> None:
    # Another process (here: another instance) imports, rewrites a card and removes; the scan cache
    # must notice each change.
    other = ModelStore(builtin_dir=empty_builtin)
    assert [m.id for m in store_with_model.list()] == ["tiny-npr"] == [m.id for m in other.list()]
    folder = other.get("tiny-npr").folder
    card = read_card(folder)
    card["name"] = "Renamed elsewhere"
    write_card(folder, card)
    assert store_with_model.get("tiny-npr").card["name"] == "Renamed elsewhere"
    other.remove("tiny-npr")
    assert store_with_model.list() == []
