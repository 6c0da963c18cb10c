"""`.env.example` documents every environment variable the settings read, with its default."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "config" / "settings.py"
EXAMPLE = ROOT / ".env.example"

_READS = re.compile(r"""(?:env(?:\.\w+)?|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def settings_variables() -> set[str]:
    """Names config/settings.py reads with env.*("NAME" or os.environ.get("NAME"."""
    return set(_READS.findall(SETTINGS.read_text()))


def example_lines() -> dict[str, tuple[bool, str]]:
    """NAME -> (active, value) for every NAME=value line, commented or not."""
    found = {}
    for line in EXAMPLE.read_text().splitlines():
        match = _LINE.match(line.strip())
        if match:
            found[match.group(2)] = (match.group(1) is None, match.group(3))
    return found


def test_settings_read_the_usual_variables():
    """Guards the regex above: if it found nothing, the next test would prove nothing."""
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PAPERBOY_VAR_DIR"} <= settings_variables()


def test_every_variable_settings_read_is_in_env_example():
    missing = settings_variables() - set(example_lines())

    assert not missing, f"add these to .env.example: {sorted(missing)}"


def test_every_variable_has_a_comment_right_above_it():
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        match = _LINE.match(line.strip())
        if match and match.group(1) is None:
            assert lines[number - 1].startswith("#"), f"no comment above {match.group(2)}"


def test_env_example_documents_nothing_the_settings_do_not_read():
    documented = set(example_lines())
    # ANYMAIL_* are read by prefix: every ANYMAIL_<NAME> becomes ANYMAIL["<NAME>"].
    stray = {name for name in documented - settings_variables() if not name.startswith("ANYMAIL_")}

    assert not stray, f".env.example lists variables nobody reads: {sorted(stray)}"


_DUMP = """
import json
from django.conf import settings
names = [n for n in dir(settings) if n.isupper()]
print(json.dumps({n: repr(getattr(settings, n)) for n in names}, sort_keys=True))
"""


def _settings_with(extra: dict[str, str], var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not _is_config(key)}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "PAPERBOY_VAR_DIR": str(var_dir)})
    env.update(extra)
    code = "import django\ndjango.setup()\n" + _DUMP
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    dumped: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return dumped


def _is_config(key: str) -> bool:
    return key in settings_variables() or key.startswith("ANYMAIL_")


def test_copying_env_example_to_env_changes_no_setting(tmp_path):
    active = {name: value for name, (is_active, value) in example_lines().items() if is_active}

    assert _settings_with(active, tmp_path) == _settings_with({}, tmp_path)
