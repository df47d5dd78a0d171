"""`zos deploy`, `zos deployment get|list|changes`, `zos contract cancel` (``zos.commands``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from zos_chain.devnode import DevNodeError, default_state_dir
from zos_provision.client import DeploySpec, Identity, NodeClient, SpecError, default_identity_file
from zos_provision.msgbus import RemoteError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker", help="the node's redis (default: $ZOS_BROKER, else the --state node's)"
    )
    parser.add_argument(
        "--chain-url", help="the chain service (default: $ZOS_CHAIN_URL, else the --state node's)"
    )
    parser.add_argument(
        "--state",
        type=Path,
        help=f"the development node's state folder (default {default_state_dir()})",
    )
    parser.add_argument(
        "--identity",
        type=Path,
        help=f"your key file, created on first use (default {default_identity_file()})",
    )
    parser.add_argument("--mnemonic", help="use this mnemonic (or hex seed) as your identity")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deploy = subparsers.add_parser("deploy", help="deploy a YAML/JSON file of workloads")
    deploy.add_argument("file", type=Path, help="the deployment file (.yaml, .yml or .json)")
    deploy.add_argument("--update", type=int, metavar="CONTRACT", help="update this deployment")
    deploy.add_argument("--node", type=int, help="the node id (default: the only node)")
    deploy.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for ok")
    deploy.add_argument(
        "--keep-on-error",
        action="store_true",
        help="keep the contract when a workload fails (default: cancel it, like the grid client)",
    )
    _common(deploy)
    deploy.set_defaults(func=cmd_deploy)

    deployment = subparsers.add_parser("deployment", help="your deployments on the node")
    actions = deployment.add_subparsers(dest="action", required=True)
    for name, help_text, needs_id in (
        ("get", "a deployment with its workloads' current results", True),
        ("list", "your active deployments", False),
        ("changes", "every state change of a deployment's workloads", True),
    ):
        action = actions.add_parser(name, help=help_text)
        if needs_id:
            action.add_argument("contract", type=int, help="the deployment's contract id")
        _common(action)
        action.set_defaults(func=cmd_deployment)

    contract = subparsers.add_parser("contract", help="your contracts on the chain")
    contract_actions = contract.add_subparsers(dest="action", required=True)
    cancel = contract_actions.add_parser("cancel", help="cancel a contract (the node removes it)")
    cancel.add_argument("contract", type=int, help="the contract id")
    _common(cancel)
    cancel.set_defaults(func=cmd_cancel)


def _client(args: argparse.Namespace) -> NodeClient:
    identity = None
    if args.mnemonic:
        identity = Identity.from_secret(args.mnemonic)
    elif args.identity:
        identity = Identity.load_or_create(args.identity)
    return NodeClient.development(
        args.broker, args.chain_url, identity, getattr(args, "node", None), args.state
    )


def _run(args: argparse.Namespace, body: Callable[[NodeClient], Awaitable[int]]) -> int:
    async def main() -> int:
        client = _client(args)
        try:
            return await body(client)
        finally:
            await client.close()

    try:
        return asyncio.run(main())
    except SpecError as err:
        print(f"zos: {err}", file=sys.stderr)
        return 2
    except DevNodeError as err:
        print(f"zos: {err}", file=sys.stderr)
        return 1
    except RemoteError as err:
        print(f"zos: the node refused: {err}", file=sys.stderr)
        return 1
    except (TimeoutError, OSError) as err:
        print(f"zos: {err}", file=sys.stderr)
        return 1


class Progress:
    """Prints each workload state change once, as it happens."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, str]] = {}

    def __call__(self, dep: dict[str, Any]) -> None:
        for wl in dep["workloads"]:
            now = (wl["result"]["state"] or "queued", wl["result"]["message"])
            if self.seen.get(wl["name"]) != now:
                self.seen[wl["name"]] = now
                message = f" ({now[1]})" if now[1] else ""
                print(f"  {wl['name']:<20} {wl['type']:<10} {now[0]}{message}", flush=True)


def _print_result(dep: dict[str, Any]) -> None:
    print(f"deployment {dep['twin_id']}-{dep['contract_id']} version {dep['version']}:")
    for wl in dep["workloads"]:
        res = wl["result"]
        tail = f": {res['message']}" if res["message"] else ""
        data = f" {json.dumps(res['data'])}" if res.get("data") else ""
        print(f"  {wl['name']:<20} {wl['type']:<10} {res['state']}{tail}{data}")


def cmd_deploy(args: argparse.Namespace) -> int:
    spec = None
    try:
        spec = DeploySpec.load(args.file)
    except SpecError as err:
        print(f"zos: {err}", file=sys.stderr)
        return 2

    async def body(client: NodeClient) -> int:
        assert spec is not None
        progress = None if args.json else Progress()
        if args.update is not None:
            outcome = await client.update(args.update, spec, progress, args.timeout)
        else:
            outcome = await client.deploy(
                spec, progress, args.timeout, rollback=not args.keep_on_error
            )
        if args.json:
            print(
                json.dumps(
                    {
                        "contract_id": outcome.contract_id,
                        "ok": outcome.ok,
                        "rolled_back": outcome.rolled_back,
                        "seconds": round(outcome.elapsed, 3),
                        "results": {
                            n: {"state": st, "message": m} for n, (st, m) in outcome.results.items()
                        },
                        "deployment": outcome.deployment,
                    }
                )
            )
        else:
            _print_result(outcome.deployment)
            if args.update is not None:
                for name, (state, message) in sorted(outcome.results.items()):
                    if state != "ok":
                        print(f"  {name}: the change was not applied ({state}): {message}")
            if outcome.rolled_back:
                print(f"contract {outcome.contract_id} cancelled: the deployment failed")
        return 0 if outcome.ok else 1

    return _run(args, body)


def cmd_deployment(args: argparse.Namespace) -> int:
    async def body(client: NodeClient) -> int:
        result: Any
        if args.action == "get":
            result = await client.get(args.contract)
        elif args.action == "list":
            result = await client.list_deployments()
        else:
            result = await client.changes(args.contract)
        if args.json:
            print(json.dumps(result))
        elif args.action == "get":
            _print_result(result)
        elif args.action == "list":
            for dep in result:
                states = ", ".join(f"{w['name']}={w['result']['state']}" for w in dep["workloads"])
                print(f"{dep['contract_id']:>8}  v{dep['version']}  {states}")
        else:
            for wl in result:
                res = wl["result"]
                tail = f"  {res['message']}" if res["message"] else ""
                print(f"{res['created']}  {wl['name']:<20} v{wl['version']} {res['state']}{tail}")
        return 0

    return _run(args, body)


def cmd_cancel(args: argparse.Namespace) -> int:
    async def body(client: NodeClient) -> int:
        await client.cancel(args.contract)
        if args.json:
            print(json.dumps({"contract_id": args.contract, "cancelled": True}))
        else:
            print(f"contract {args.contract} cancelled; the node removes its workloads")
        return 0

    return _run(args, body)
