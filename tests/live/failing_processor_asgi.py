"""The real application plus a processor that always raises, to test 4500 live."""

from echo import processors
from wsaudio_site.asgi import application


class AlwaysFails:
    name = "always_fails"
    description = "raises on every block"

    def __init__(self, rate: int) -> None:
        self.rate = rate

    def process(self, block):
        raise RuntimeError("this processor always fails")


processors.PROCESSORS[AlwaysFails.name] = AlwaysFails

__all__ = ["application"]
