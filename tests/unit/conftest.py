"""The unit tests' shared fixtures."""

import pytest

from tests.rooms import Meeting


@pytest.fixture
def meeting() -> Meeting:
    """A room with no network, for the room's rules and its media plans."""
    return Meeting()
