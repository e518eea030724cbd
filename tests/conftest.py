"""Signal helpers shared by every test layer, and the `database` marker."""

import numpy as np
import pytest

# pytest-django's fixtures that give a test the database without its marker.
DATABASE_FIXTURES = {"db", "transactional_db"}


@pytest.hookimpl(tryfirst=True)  # before `-m database` selects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use pytest-django's database also run in the PostgreSQL pass."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & DATABASE_FIXTURES:
            item.add_marker(pytest.mark.database)


def sine(rate: int, seconds: float, hz: float, amplitude: float = 0.5) -> np.ndarray:
    """A float32 sine at ``hz``, ``seconds`` long at ``rate``."""
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def frames(samples: np.ndarray, size: int) -> list[np.ndarray]:
    """``samples`` cut into consecutive frames of ``size`` (the last may be short)."""
    return [samples[i : i + size] for i in range(0, len(samples), size)]
