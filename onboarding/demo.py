from typing import Any


def demo_seeded_receiver(sender: Any, **kwargs: Any) -> None:
    pass
