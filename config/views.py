from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness and database reachability, for operators and load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
