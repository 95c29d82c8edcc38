"""WSGI entry point: ``gunicorn prosaas.wsgi:app``."""

from prosaas import create_app

app = create_app()
