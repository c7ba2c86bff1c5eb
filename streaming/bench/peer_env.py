"""The Quix Streams peer's own venv, ``.venv-bench`` at the repository root.

Quix Streams cannot live in ``.venv``: its pins (confluent-kafka, pydantic-settings) clash with
``requirements.lock``. So the peer gets a venv of its own, installed by ``uv`` from
``benchmarks/quix-requirements.lock`` (quixstreams and msgspec, which matches ours so our
``MarketProcessor`` runs there unchanged), and runs with the repository on ``PYTHONPATH``.
A stamp holding the lock's text marks a finished install: the venv is reinstalled only when
it is missing, half-installed, or the lock changed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

VENV = ".venv-bench"
LOCK = Path("benchmarks") / "quix-requirements.lock"
STAMP = ".installed"


def ensure_peer_env(repo_root: Path) -> Path:
    """The python of ``repo_root/.venv-bench``, created and installed first if needed.

    Raises ``RuntimeError`` saying what to do when ``uv`` is missing or the install fails
    (it needs PyPI, or a mirror configured for uv, the first time).
    """
    venv = repo_root / VENV
    python = venv / "bin" / "python"
    lock = repo_root / LOCK
    stamp = venv / STAMP
    pins = lock.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == pins:
        return python
    uv, ours = repo_root / ".venv" / "bin" / "uv", repo_root / ".venv" / "bin" / "python"
    if not uv.exists():
        raise RuntimeError(f"{uv} is missing: run `make install` first, then retry")
    for step in (
        # the same interpreter as ours, so the two sides differ only by what they run
        [str(uv), "venv", "--quiet", "--allow-existing", "--python", str(ours), str(venv)],
        [str(uv), "pip", "install", "--quiet", "--python", str(python), "-r", str(lock)],
    ):
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"could not install the Quix Streams peer's venv ({' '.join(step)} exited "
                f"{done.returncode}):\n{done.stderr.strip()}\n"
                f"It needs PyPI (or a uv index mirror, UV_INDEX_URL) once. Fix that and retry, "
                f"or delete {venv} and retry if it is broken."
            )
    stamp.write_text(pins)
    return python
