"""Compile ``zos_gridtypes._accel`` (the C fast path) in place, next to its source.

Run by the hatch build hook (``hatch_build.py``) whenever the package is installed, editable or
not, and by hand after editing ``_accel.c``::

    hatch run python packages/zos-gridtypes/build_ext.py

Without a C compiler or the Python headers it prints why and leaves the package pure Python
(``zos_gridtypes._cfast.AVAILABLE`` is then False and decoding uses pydantic-core).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "src" / "zos_gridtypes" / "_accel.c"


def target() -> Path:
    return SOURCE.with_name("_accel" + str(sysconfig.get_config_var("EXT_SUFFIX")))


def build() -> Path | None:
    """The compiled module's path, or None (with the reason on stderr) when it cannot be built."""
    out = target()
    sha = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        print(f"zos-gridtypes: no Python.h in {include}: pure Python", file=sys.stderr)
        return None
    cc = shlex.split(os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc"))
    command = [
        *cc,
        "-O2",
        "-fPIC",
        "-shared",
        "-Wall",
        "-Wno-unused-parameter",
        f'-DZOS_SOURCE_SHA="{sha}"',
        f"-I{include}",
        str(SOURCE),
        "-o",
        str(out.with_suffix(".tmp")),
    ]
    try:
        subprocess.run(command, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"zos-gridtypes: compiling {SOURCE.name} failed ({e}): pure Python", file=sys.stderr)
        return None
    out.with_suffix(".tmp").replace(out)  # atomic: a running interpreter keeps the old one
    return out


if __name__ == "__main__":
    built = build()
    print(built if built is not None else "not built")
    sys.exit(0 if built is not None else 1)
