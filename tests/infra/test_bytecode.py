"""The bytecode the bundles ship (infra/bundling.py): what Python 3.12 on Lambda will load.

Fast: a tiny package compiled in a temporary directory, loaded by the Python 3.12 interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import bundling


def _load_value(package_root: Path) -> str:
    """`demo.VALUE` as Python 3.12 sees it, with -B (Lambda's read-only filesystem writes nothing)."""
    code = f"import sys; sys.path.insert(0, {str(package_root)!r}); import demo; print(demo.VALUE, demo.__file__)"
    result = subprocess.run([bundling.lambda_python(), "-I", "-S", "-B", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_our_code_keeps_its_source_and_loads_its_bytecode_whatever_the_files_timestamps(tmp_path: Path) -> None:
    # GIVEN a module compiled as the functions asset is, whose source then gets CDK's fixed zip
    # timestamp (1980) and, to tell the two apart, different content than what was compiled
    (tmp_path / "demo.py").write_text("VALUE = 'compiled'\n")
    bundling.compile_bytecode(tmp_path)
    (tmp_path / "demo.py").write_text("VALUE = 'source!'\n")
    os.utime(tmp_path / "demo.py", (315532800, 315532800))

    # WHEN Python 3.12 imports it
    value, origin = _load_value(tmp_path).split()

    # THEN it ran the shipped bytecode (no source check, no recompiling), and still knows the source
    assert value == "compiled"
    assert origin == str(tmp_path / "demo.py")
    assert (tmp_path / "__pycache__" / "demo.cpython-312.pyc").is_file()


def test_third_party_code_ships_bytecode_only_recording_where_lambda_puts_it(tmp_path: Path) -> None:
    # GIVEN a module compiled as a layer's packages are
    (tmp_path / "demo.py").write_text("VALUE = 'compiled'\ndef fail():\n    raise RuntimeError('where')\n")
    bundling.compile_bytecode(tmp_path, sourceless=True, installed_at="/opt/python")

    # THEN only the bytecode is left, and it loads
    assert sorted(path.name for path in tmp_path.iterdir()) == ["demo.pyc"]
    assert _load_value(tmp_path).split()[0] == "compiled"
    # AND a traceback through it names /opt/python, not the build machine's directory
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import demo; demo.fail()"
    result = subprocess.run([bundling.lambda_python(), "-I", "-S", "-B", "-c", code], capture_output=True, text=True)
    assert 'File "/opt/python/demo.py", line 3, in fail' in result.stderr
    assert str(tmp_path) not in result.stderr


def test_without_a_python_312_the_bundling_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no 3.12 interpreter anywhere the bundling looks (LAMBDA_PYTHON names this 3.11 one)
    monkeypatch.setattr(bundling, "_CANDIDATES", ("python3.99-not-installed",))
    monkeypatch.setenv("LAMBDA_PYTHON", sys.executable)
    bundling.lambda_python.cache_clear()
    try:
        # WHEN the bundling looks for the runtime's interpreter
        with pytest.raises(bundling.NoLambdaPython) as raised:
            bundling.lambda_python()
    finally:
        bundling.lambda_python.cache_clear()

    # THEN it refuses (bytecode of another version would be ignored on Lambda) and says what to do
    assert sys.version_info[:2] != (3, 12)
    assert "LAMBDA_PYTHON" in str(raised.value) and "3.12" in str(raised.value)
