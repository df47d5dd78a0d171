import pytest

from zos_cli.main import main


def test_requires_a_command() -> None:
    with pytest.raises(SystemExit):
        main([])
