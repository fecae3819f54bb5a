"""Ingest: bringing scraped story files into the newsroom.

Stages, each its own module: reading a file's format, matching people and
topics, storing; and around them the operations (runs, the watched folder,
uploads from the admin, background imports).
"""
