"""hatchling build hook: compile the C fast path (``build_ext.py``) into the wheel.

Editable installs (the workspace's ``hatch run``) compile it in place under ``src/``; wheels
carry it as a platform-specific artifact. With no compiler the package stays pure Python.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class AccelBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        spec = importlib.util.spec_from_file_location(
            "zos_gridtypes_build_ext", Path(self.root) / "build_ext.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        built = module.build()
        if built is None or version == "editable":
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["force_include"][str(built)] = f"zos_gridtypes/{built.name}"
