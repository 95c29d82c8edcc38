"""WSGI entry point: ``gunicorn prosaas.wsgi:app``."""

from prosaas.factory import create_app

app = create_app()
