"""A live per-agent progress display for a terminal (used by the CLI on stderr)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from research.core.steps import StatusEvent, StepState

STATE_SYMBOLS = {  # plain text symbols: they render in any terminal font and any table
    StepState.QUEUED: "·", StepState.RUNNING: "…", StepState.RETRYING: "↻", StepState.DONE: "✓",
    StepState.FAILED: "✗", StepState.TIMED_OUT: "✗", StepState.CANCELLED: "■", StepState.SKIPPED: "-",
}


class ProgressDisplay:
    """Shows one line per agent. On a terminal the lines are redrawn in place;
    otherwise each state change is printed once (streamed text is not printed)."""

    def __init__(self, keys: list[str], stream: TextIO, label: Callable[[str], str] = str) -> None:
        self._label = label
        self._keys = list(keys)
        self._stream = stream
        self._live = bool(getattr(stream, "isatty", lambda: False)())
        self._lines = {k: "queued" for k in keys}
        self._since = {k: time.monotonic() for k in keys}
        self._chars = dict.fromkeys(keys, 0)
        self._drawn = False
        self._width = min(max((len(label(k)) for k in keys), default=10) + 1, 28)

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
        if event.state is StepState.RUNNING:
            self._since[event.key] = time.monotonic()
        line = self._describe(event)
        changed = self._lines.get(event.key) != line
        self._lines[event.key] = line
        if self._live:
            self._redraw()
        elif changed:
            self._stream.write(f"{self._label(event.key)[:27]:<{self._width}} {line}\n")
            self._stream.flush()

    def _describe(self, event: StatusEvent) -> str:
        text = f"{STATE_SYMBOLS[event.state]} {event.state.value}"
        if event.state is StepState.RETRYING:
            text += f" (attempt {event.attempt} of {event.max_attempts}): {event.message}"
        elif event.state in (StepState.RUNNING, StepState.QUEUED) and event.message:
            text += f": {event.message}"
        elif event.state.finished and event.state is not StepState.DONE and event.message:
            text += f": {event.message}"
        elif event.state is StepState.DONE:
            seconds = time.monotonic() - self._since.get(event.key, time.monotonic())
            tokens = event.usage.input_tokens + event.usage.output_tokens if event.usage else 0
            text += f" in {seconds:.1f} s, {tokens:,} tokens"
            text += f" ({event.message})" if event.message else ""
        return text

    def _redraw(self) -> None:
        out = []
        if self._drawn:
            out.append(f"\x1b[{len(self._keys)}F")
        for key in self._keys:
            extra = f" · {self._chars[key]:,} chars written" if self._chars.get(key) else ""
            out.append(f"\x1b[2K{self._label(key)[:27]:<{self._width}} {self._lines.get(key, '')}{extra}\n")
        self._stream.write("".join(out))
        self._stream.flush()
        self._drawn = True
