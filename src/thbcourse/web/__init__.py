"""The classroom web app: live quiz sessions, self-study and score exports in a browser."""
from thbcourse.web.app import create_app, serve

__all__ = ["create_app", "serve"]
