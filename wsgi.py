"""WSGI entry point: `gunicorn wsgi:app`."""

from api import create_app
from api.serving import prepare_to_serve

app = create_app()
prepare_to_serve()  # each worker, before it takes requests
