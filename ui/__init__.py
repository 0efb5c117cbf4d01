"""Streamlit views for the app: they read engine state and draw it, nothing more."""
