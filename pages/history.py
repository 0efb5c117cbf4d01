"""History: every saved job in a compact table, searchable and filterable (drawn by ui.history_page)."""

from ui import history_page, shell

shell.through_app()
history_page.page()
