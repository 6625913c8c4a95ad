"""Where the shared, read-only sample files live (shared/fixtures/README.md).

The repository is checked out as <root>/main (locally /work/main, in CI a fresh clone)
with a copy of shared/ beside it, so the fixtures are <root>/shared/fixtures. Tests read
them in place, as they are: they are other projects' files and must not be copied in.
"""

from __future__ import annotations

from pathlib import Path

# tests/fixtures_path.py -> parents[0] is tests/, [1] the repository, [2] the folder that
# holds both the repository and shared/.
_SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def shared_fixtures(*parts: str) -> Path:
    """The shared fixtures folder, or a path inside it (e.g. shared_fixtures("identity")).

    Raises FileNotFoundError naming the expected location when it is missing, so that a
    checkout without shared/ beside it fails with a clear reason instead of a puzzling
    empty test run.
    """
    path = _SHARED_FIXTURES.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"shared fixtures not found at {path}: the tests expect the shared/ folder "
            f"beside the repository ({_SHARED_FIXTURES.parents[1]}/shared/fixtures)"
        )
    return path
