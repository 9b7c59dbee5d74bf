"""The petition domain on top of the generic engine: deadlines, digests, reports, routing.

Imports point one way: `api` may import this package, this package imports `engine`, and
nothing here imports Flask.
"""
