"""The workspace contract: every package and app has the shape ARCHITECTURE.md asks for."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _members() -> list[Path]:
    return sorted(p for p in [*ROOT.glob("packages/*"), *ROOT.glob("apps/*")] if p.is_dir())


def test_every_member_has_pyproject_readme_and_typed_source() -> None:
    members = _members()
    assert members
    for member in members:
        assert (member / "pyproject.toml").is_file(), member
        assert (member / "README.md").is_file(), member
        sources = list((member / "src").glob("*/py.typed"))
        assert sources, f"{member} ships no py.typed"


def test_every_package_has_its_own_tests() -> None:
    for member in ROOT.glob("packages/*"):
        assert list((member / "tests").glob("test_*.py")), member
