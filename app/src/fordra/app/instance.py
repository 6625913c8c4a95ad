"""What makes a data directory an instance, and how one is made (issue 18).

An instance's data directory holds its ``secrets.json`` (the token-signing and pseudonym keys)
from its first start on, so that file is the mark: a directory without it holds no instance's
data. The commands that work on an instance's data (``import``, ``retention``, ``projections
rebuild``) refuse such a directory instead of booking into a new, empty instance (a typo in
``--data-dir`` would otherwise exit 0 with the file booked where nobody looks). ``fordra init``
makes one; ``fordra run`` makes one on its first start, in a directory that is absent or empty.
"""

from __future__ import annotations

from pathlib import Path

from fordra.app.auth import InstanceSecrets
from fordra.kernel.private_files import private_dir

MARK = "secrets.json"


def is_instance(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds an instance (its secrets)."""
    return (data_dir / MARK).is_file()


def is_unused(data_dir: Path) -> bool:
    """Whether ``data_dir`` is absent or empty: a first start may make an instance there."""
    return not data_dir.exists() or (data_dir.is_dir() and not any(data_dir.iterdir()))


def not_an_instance(data_dir: Path) -> str:
    """The refusal of a command that needs an instance, naming the directory."""
    return (
        f"{data_dir} holds no Fordra instance (no {MARK}); check --data-dir (or "
        f"FORDRA_DATA_DIR), or make one there with: fordra init --data-dir {data_dir}"
    )


def init_instance(data_dir: Path) -> bool:
    """Make an instance in ``data_dir``: the private directory and its secrets. Answers False
    when one was there already (it is left as it is)."""
    existed = is_instance(data_dir)
    private_dir(data_dir)
    InstanceSecrets.load_or_create(data_dir)
    return not existed
