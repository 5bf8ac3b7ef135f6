"""An immutable, case-insensitive view of one AMI response or event."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from panoramisk.message import Message

Value = str | list[str]


class AmiMessage(Mapping[str, Value]):
    """Header name -> value (a list when Asterisk repeats a header, e.g. ``Output:``).

    Lookups ignore case because Asterisk is not consistent about it (``Uniqueid`` vs
    ``UniqueID``, ``ActionID`` vs ``ActionId``) across actions and versions.
    """

    __slots__ = ("_items",)

    def __init__(self, headers: Mapping[str, Value]) -> None:
        self._items: dict[str, tuple[str, Value]] = {
            key.lower(): (key, list(value) if isinstance(value, list) else value)
            for key, value in headers.items()
        }

    @classmethod
    def from_panoramisk(cls, message: Message) -> AmiMessage:
        # panoramisk keeps a body-less response's "content" as an (empty) header; drop it then.
        return cls({k: v for k, v in message.items() if not (k == "content" and not v)})

    def __getitem__(self, key: str) -> Value:
        return self._items[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"AmiMessage({dict(self.items())!r})"

    def text(self, key: str) -> str:
        """A header as one string ("" when absent; repeated values joined by newlines)."""
        value = self.get(key, "")
        return "\n".join(value) if isinstance(value, list) else value

    @property
    def name(self) -> str:
        """The event name, or the response status ("Success", "Error", ...)."""
        return self.text("Event") or self.text("Response")
