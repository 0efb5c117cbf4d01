"""Fixed texts and symbols the reports, the pages and the command line show.

A leaf module (it imports only :mod:`research.core.steps`), so engine modules
such as the demo content and the terminal progress display can use it too.
"""

from __future__ import annotations

from research.core.steps import StepState

__all__ = ["DEMO_NOTICE", "STATE_SYMBOLS"]

DEMO_NOTICE = "Demo data — generated offline without a language model; not research."
"""Shown by the report renderer on every report built from demo data (and by the sidebar in demo mode)."""

STATE_SYMBOLS = {  # plain text symbols: they render in any terminal font and any table
    StepState.QUEUED: "·", StepState.RUNNING: "…", StepState.RETRYING: "↻", StepState.DONE: "✓",
    StepState.FAILED: "✗", StepState.TIMED_OUT: "✗", StepState.CANCELLED: "■", StepState.SKIPPED: "-",
}
"""One plain text symbol per step state (the CLI's progress lines and the company status table)."""
