import pytest

from hindsight import bus as bus_module
from hindsight.bus import get_bus


@pytest.fixture
def in_process_bus(settings):
    settings.REDIS_URL = ""
    bus_module._bus = None
    yield get_bus()
    bus_module._bus = None
