"""Entry models of the eight modules; each lives in its module's sub-package (`modules/<name>/models.py`)."""

from infra.discovery import submodules

for _module in submodules("modules", "models"):
    globals().update({name: getattr(_module, name) for name in dir(_module)
                      if isinstance(getattr(_module, name), type) and getattr(_module, name).__module__
                      == _module.__name__})
