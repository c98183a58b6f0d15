"""The static site: what each page shows (pages.py), views, templates and browser data."""
