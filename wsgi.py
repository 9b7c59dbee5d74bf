"""WSGI entry point: `gunicorn wsgi:app`."""

from api import create_app
from api.heap import settle_after_start
from workflows.text.segment import warm_up

app = create_app()
warm_up()  # each worker loads the segmentation dictionary before it takes requests
settle_after_start()
