"""Test-only session backend: what `client.force_login` uses (it picks the first backend with `get_user`).

The production backends refuse sessions they may no longer serve (demo login outside demo mode); tests
that only need "a signed-in user" log in through this one, which still refuses inactive users.
"""

from django.contrib.auth.backends import ModelBackend


class ForceLoginBackend(ModelBackend):
    def authenticate(self, request, **credentials):
        return None
