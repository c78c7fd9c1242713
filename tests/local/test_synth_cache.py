"""local.synth: stacks starting at once (pytest-xdist workers) synthesize the app once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from local import synth


def test_concurrent_starts_synthesize_once_and_all_get_the_template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN an empty cache and a synth that takes a while
    calls: list[str] = []

    def slow_synth(stage: str, bundle: bool) -> dict:
        calls.append(stage)
        time.sleep(0.5)
        return {"Resources": {"Stage": stage}}

    monkeypatch.setattr(synth, "CACHE_DIR", tmp_path / "synth-cache")
    monkeypatch.setattr(synth, "synth_inputs_hash", lambda stage, bundle: "samekey")
    monkeypatch.setattr(synth, "_synth", slow_synth)
    monkeypatch.delenv("LOCAL_SYNTH_CACHE", raising=False)
    # WHEN four stacks ask for the dev template at the same time
    templates: list[dict] = []
    threads = [threading.Thread(target=lambda: templates.append(synth.synth_backend_template("dev"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # THEN one of them synthesized it and all four got it
    assert calls == ["dev"]
    assert templates == [{"Resources": {"Stage": "dev"}}] * 4
    assert [path.name for path in (tmp_path / "synth-cache").glob("*.json")] == ["dev-samekey.json"]
