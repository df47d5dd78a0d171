"""Registration creates the node once, then updates it; uptime and monitor samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from zos_chain import BusGateway, ChainGateway, DevChain
from zos_chain.api import Interface, Location, Resources
from zos_noded import host, monitor
from zos_noded.api import RegistrationError
from zos_noded.registration import NodeInfo, register
from zos_noded.uptime import report_uptime

FARMER = bytes.fromhex("aa" * 32)
NODE_KEY = bytes.fromhex("cc" * 32)


@pytest.fixture
def chain(tmp_path: Path) -> DevChain:
    chain = DevChain(tmp_path / "chain.sqlite")
    chain.create_twin(FARMER)
    chain.create_farm(FARMER, "farm")
    yield chain  # type: ignore[misc]
    chain.close()


def bus(chain: DevChain) -> BusGateway:
    return BusGateway(ChainGateway(chain, NODE_KEY))


async def test_register_creates_then_updates(chain: DevChain) -> None:
    gateway = bus(chain)
    info = NodeInfo(farm_id=1, resources=Resources(cru=2, mru=4 << 30, sru=100 << 30),
                    location=Location(city="Ghent", country="Belgium"),
                    interfaces=[Interface(name="zos", mac="aa:bb", ips=["10.0.0.2"])],
                    virtualized=True)
    first = await register(gateway, NODE_KEY, info)
    assert first.created and first.node_id == 1 and first.twin_id == 2
    again = await register(gateway, NODE_KEY, info)
    assert again == type(first)(first.node_id, first.twin_id, created=False, updated=False)
    info.resources = Resources(cru=4, mru=8 << 30, sru=100 << 30)
    changed = await register(gateway, NODE_KEY, info)
    assert changed.updated and changed.node_id == first.node_id
    assert len(chain.list_nodes()) == 1 and len(chain.list_twins()) == 2
    node = chain.get_node(first.node_id)
    assert node.resources.cru == 4 and node.virtualized and node.interfaces[0].mac == "aa:bb"
    assert node.location.city == "Ghent"


async def test_non_virtualized_stays_so(chain: DevChain) -> None:
    gateway = bus(chain)
    info = NodeInfo(farm_id=1, resources=Resources(cru=1), virtualized=False)
    await register(gateway, NODE_KEY, info)
    info.virtualized = True
    result = await register(gateway, NODE_KEY, info)
    assert not result.updated and not chain.get_node(result.node_id).virtualized


async def test_uptime_report(chain: DevChain) -> None:
    gateway = bus(chain)
    node = (await register(gateway, NODE_KEY, NodeInfo(farm_id=1, resources=Resources()))).node_id
    await report_uptime(gateway)
    reports = chain.uptime_reports(node)
    assert len(reports) == 1 and reports[0].uptime > 0


async def test_host_and_monitor_samples(tmp_path: Path) -> None:
    resources = await host.capacity(host.host_storage_totals(tmp_path))
    assert resources.cru >= 1 and resources.mru > 0 and resources.sru > 0
    assert monitor.memory_sample().Total == resources.mru
    assert monitor.cpu_sample().Idle > 0
    assert isinstance(monitor.disks_sample(), dict)
    nics = monitor.nics_sample({}, 1.0)
    assert any(nic.Name == "lo" for nic in nics)
    registrar = monitor.RegistrationState()
    with pytest.raises(RegistrationError, match="in progress"):
        await registrar.node_id()
    registrar.set(3, 4)
    assert await registrar.twin_id() == 4
    mon = monitor.NodeMonitor(registrar, interval=0.05)
    assert await mon.node_id() == 3 and "zmachine" in await mon.get_node_features()
    stream = mon.nics()
    first = await anext(stream)
    second = await anext(stream)
    assert {n.Name for n in first} == {n.Name for n in second}
    assert (await anext(monitor.UptimeMonitor(0.05).uptime())).total_seconds() > 0
    assert (await anext(mon.cpu())).CPU == "cpu-total"
    for item in host.interfaces():
        assert item.name == "zos"


async def test_next_registration_on_timer_or_address_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from zos_noded import daemon

    await asyncio.wait_for(daemon.next_registration(0.05, 0.01), 5)  # the timer fires
    calls = iter([[Interface(name="zos", ips=["10.0.0.1"])]] * 3
                 + [[Interface(name="zos", ips=["10.0.0.2"])]])
    monkeypatch.setattr(daemon.host, "interfaces", lambda: next(calls))
    await asyncio.wait_for(daemon.next_registration(3600, 0.01), 5)  # the address changed
