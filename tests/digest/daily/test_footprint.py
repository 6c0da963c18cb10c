"""What a sending process loads: the daily run and the web need no scikit-learn or SciPy
(about 100 MB a process); they load only where a model is fitted or a paper is scored."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.manage_process import ROOT

HEAVY = ("sklearn", "scipy")

PROBE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
import config.urls, digest.tasks, digest.daily.dispatch, digest.daily.sending, digest.daily.personal
print(",".join(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))))
"""


def _loaded_after(probe: str) -> str:
    env = {**os.environ, "DATABASE_URL": "sqlite:///:memory:"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", probe, *HEAVY], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_daily_run_and_web_load_no_model_libraries() -> None:
    assert _loaded_after(PROBE) == ""


def test_fitting_a_model_still_loads_them() -> None:
    fit = PROBE + "from digest.catalog.textmodel import empty_model\nempty_model()\n" + PROBE.splitlines()[-1]
    assert _loaded_after(fit) == "scipy,sklearn"
