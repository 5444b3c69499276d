"""The project package: settings, URLs, WSGI/ASGI, site-wide views and the demo commands.

The top layer: it wires every app together and nothing imports it (docs/architecture.md)."""
