"""The latest request wins.

A workspace asks a thread worker for something slow (build a layer stack, check a metric file,
inspect a transfer base, size the model) and the user may ask again before the answer comes:
only the answer to the newest request may reach the screen.  The rule, in the terms of STYLE.md:

- The UI thread takes a ticket (``requests.new()``) when it starts the worker and passes it in.
- The worker never decides whether its answer is current: it sends the answer back to the UI
  thread with the ticket (``call_from_thread`` or a message carrying it).
- The handler on the UI thread drops the answer unless ``requests.is_latest(ticket)``.  Tickets
  are only taken and compared on the UI thread, so there is no race to guard.
"""

from __future__ import annotations


class Requests:
    """Numbered requests of one kind; an answer counts only for the newest."""

    def __init__(self) -> None:
        self.latest = 0  # the newest ticket handed out (0: none yet); also how many requests were made

    def new(self) -> int:
        """A ticket for a new request: every earlier ticket is stale from now on."""
        self.latest += 1
        return self.latest

    def is_latest(self, ticket: int) -> bool:
        return ticket == self.latest
