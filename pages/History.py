"""History: every saved job in a compact table, searchable and filterable (drawn by ui.history_page)."""

from ui import history_page, nav

nav.through_app(nav.history())
history_page.page()
