"""A live per-agent progress display for a terminal (used by the CLI on stderr)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from research.core.steps import StatusEvent, StepState, duration_label, tokens_label
from research.reports.texts import STATE_SYMBOLS

NOTED = (StepState.QUEUED, StepState.RUNNING)
"""The states whose message is a note (e.g. "the model server does not accept JSON schemas; using JSON mode")."""


class ProgressDisplay:
    """Shows one line per agent. On a terminal the lines are redrawn in place;
    otherwise each state change is printed once (streamed text is not printed).

    Labels are shown whole. A finished step's time runs from its start, as its
    outcome records it (the report's run details show the same). A note (the
    message of a queued or running step) is shown once, not again for every step
    that reports it; tokens the server did not report read "unknown", not 0.
    """

    def __init__(self, keys: list[str], stream: TextIO, label: Callable[[str], str] = str) -> None:
        self._label = label
        self._keys = list(keys)
        self._stream = stream
        self._live = bool(getattr(stream, "isatty", lambda: False)())
        self._lines = {k: "queued" for k in keys}
        self._states: dict[str, StepState] = {}
        self._notes: set[str] = set()
        self._chars = dict.fromkeys(keys, 0)
        self._drawn = False
        self._width = max((len(label(k)) for k in keys), default=10) + 1

    def __call__(self, event: StatusEvent) -> None:
        """Consume one status event."""
        if event.key not in self._lines:
            self._keys.append(event.key)
            self._chars[event.key] = 0
        if event.text:
            self._chars[event.key] += len(event.text)
            if self._live:
                self._redraw()
            return
        note = self._new_note(event)
        if event.state in NOTED and event.message and not note and self._states.get(event.key) is event.state:
            return  # a note already shown, and nothing else is new
        self._states[event.key] = event.state
        line = self._describe(event, note)
        changed = self._lines.get(event.key) != line
        self._lines[event.key] = line
        if self._live:
            self._redraw()
        elif changed:
            self._stream.write(f"{self._label(event.key):<{self._width}} {line}\n")
            self._stream.flush()

    def _new_note(self, event: StatusEvent) -> str:
        """The event's note if it is one that has not been shown yet, else ""."""
        if event.state not in NOTED or not event.message or event.message in self._notes:
            return ""
        self._notes.add(event.message)
        return event.message

    def _describe(self, event: StatusEvent, note: str) -> str:
        text = f"{STATE_SYMBOLS[event.state]} {event.state.value}"
        if event.state is StepState.RETRYING:
            text += f" (attempt {event.attempt} of {event.max_attempts}): {event.message}"
        elif note:
            text += f": {note}"
        elif event.state.finished and event.state is not StepState.DONE and event.message:
            text += f": {event.message}"
        elif event.state is StepState.DONE:
            text += f" in {duration_label(event.elapsed)}" if event.elapsed is not None else ""
            text += f", {tokens_label([event.usage])}" if event.usage is not None and event.usage.requests else ""
            text += f" ({event.message})" if event.message else ""
        return text

    def _redraw(self) -> None:
        out = []
        if self._drawn:
            out.append(f"\x1b[{len(self._keys)}F")
        for key in self._keys:
            extra = f" · {self._chars[key]:,} chars written" if self._chars.get(key) else ""
            out.append(f"\x1b[2K{self._label(key):<{self._width}} {self._lines.get(key, '')}{extra}\n")
        self._stream.write("".join(out))
        self._stream.flush()
        self._drawn = True
