"""Fixtures for the line tests: real brokers and devices, started per test where they must fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aion.line.broker import EmbeddedBroker

from .peers import ModbusDevice, MosquittoProcess, OpcUaDevice, mosquitto_available, port_open

SYSTEM_MQTT = ("127.0.0.1", 1883)


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small inspection model (``.aion``) trained on synthetic textures, for the station tests."""
    from aion.solutions.inspection import TrainConfig, train
    from tests.solutions.inspection.conftest import make_mvtec

    root = tmp_path_factory.mktemp("station")
    data = make_mvtec(root / "data", seed=5, n_train=12, n_test_good=1, n_defect=1)
    model = train(data, TrainConfig(resolution=64, threads=2, min_bank_size=200, target_frr=0.0))
    return model.save(root / "parts.aion")


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture(scope="session")
def system_mosquitto() -> str:
    if not port_open(*SYSTEM_MQTT):
        pytest.skip("로컬 Mosquitto 없음 / no MQTT broker on 127.0.0.1:1883")
    return "mqtt://127.0.0.1:1883"


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    if not mosquitto_available():
        pytest.skip("mosquitto 실행 파일 없음 / the mosquitto binary is not installed")
    m = MosquittoProcess(tmp_path).start()
    yield m
    m.stop()


@pytest.fixture
def modbus_device() -> Iterator[ModbusDevice]:
    d = ModbusDevice(inputs=[7, 0xFFFE] + [0] * 198).start()
    yield d
    d.stop()


@pytest.fixture
def opcua_device() -> Iterator[OpcUaDevice]:
    d = OpcUaDevice().start()
    yield d
    d.stop()
