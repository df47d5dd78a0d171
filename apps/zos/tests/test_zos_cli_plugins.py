"""`zos.commands` plugins and the node's service-file rules (no processes)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from zos_cli.main import main
from zos_cli.node import NodeError, plan_services
from zos_cli.node_modules import NodeContext, NodeModule

PLUGIN = """
def register(subparsers):
    cmd = subparsers.add_parser("hello", help="say hello")
    cmd.add_argument("who")
    cmd.set_defaults(func=lambda args: print(f"hello {args.who}") or 7)


def broken(subparsers):
    raise RuntimeError("boom")
"""


@pytest.fixture
def plugin_site(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "zos_hello_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "zos_hello_plugin-0.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zos-hello-plugin\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(
        "[zos.commands]\nhello = zos_hello_plugin:register\nbroken = zos_hello_plugin:broken\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("zos_hello_plugin", None)


def test_plugin_commands_are_loaded(plugin_site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hello", "world"]) == 7
    out = capsys.readouterr()
    assert out.out == "hello world\n"
    assert "ignoring command plugin 'broken'" in out.err  # a broken plugin is only reported


def test_node_command_requires_a_subcommand() -> None:
    with pytest.raises(SystemExit):
        main(["node"])


class FakeModule:
    def __init__(self, name: str, services: Mapping[str, Mapping[str, Any]], **extra: Any):
        self.name = name
        self.order = 10
        self._services = services
        for key, value in extra.items():
            setattr(self, key, value)

    def prepare(self, ctx: NodeContext) -> None:
        pass

    def services(self, ctx: NodeContext) -> Mapping[str, Mapping[str, Any]]:
        return self._services

    def cleanup(self, ctx: NodeContext) -> None:
        pass


def _ctx(tmp_path: Path) -> NodeContext:
    return NodeContext(tmp_path, "unix:///x/redis.sock", "/env/bin/python")


def test_plan_applies_the_node_rules(tmp_path: Path) -> None:
    storage = FakeModule(
        "storaged",
        {"storaged": {"exec": "storaged", "after": ["node-ready"]}},
        zbus_module="storage",
    )
    flist = FakeModule(
        "flistd",
        {
            "flistd": {"exec": "flistd", "after": ["storaged", "identityd"], "test": "true"},
            "flist-init": {"exec": "true", "oneshot": True},
        },
    )
    modules: list[NodeModule] = [storage, flist]
    plan = plan_services(_ctx(tmp_path), modules)
    (storaged,) = plan["storaged"]
    assert storaged.config.after == ("redis",)
    assert storaged.config.test == ("/env/bin/zbus status --broker unix:///x/redis.sock storage")
    flistd, init = plan["flistd"]
    assert flistd.config.after == ("redis", "storaged") and flistd.config.test == "true"
    assert init.config.test == "" and init.config.after == ("redis",)


def test_plan_rejects_bad_services(tmp_path: Path) -> None:
    with pytest.raises(NodeError, match="module 'a', service 'x': missing exec directive"):
        plan_services(_ctx(tmp_path), [FakeModule("a", {"x": {"exec": ""}})])
    with pytest.raises(NodeError, match="also provided by"):
        plan_services(
            _ctx(tmp_path),
            [FakeModule("a", {"x": {"exec": "a"}}), FakeModule("b", {"x": {"exec": "b"}})],
        )
    with pytest.raises(NodeError, match="also provided by the node"):
        plan_services(_ctx(tmp_path), [FakeModule("a", {"redis": {"exec": "a"}})])
