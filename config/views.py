from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found as site_page_not_found


def healthz(request):
    """Liveness and database reachability, for operators and load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def admin_login(request):
    """The back office's sign-in. A signed-in lab user is not asked to sign in again: they are told that the
    back office is the campaign team's and where their own pages are."""
    if request.user.is_authenticated and not request.user.is_staff:
        return render(request, "lab/not_backoffice.html", status=403)
    return admin.site.login(request)


def page_not_found(request, exception=None):
    """An API address answers in the API's shape ({code, detail}); every other one gets the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return site_page_not_found(request, exception)
