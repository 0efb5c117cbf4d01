"""History: every saved job, newest first, searchable and filterable (drawn by ui.history_page)."""

from ui import history_page

history_page.page()
