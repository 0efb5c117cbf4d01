"""Companies: research many companies at once and compare them (drawn by ui.companies_page)."""

from ui import companies_page, shell

shell.through_app()
companies_page.page()
