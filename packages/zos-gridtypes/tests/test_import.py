import zos_gridtypes


def test_import() -> None:
    assert zos_gridtypes.__doc__
