from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness for load balancers: the database and the cache answer."""
    from django.core.cache import cache

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # pragma: no cover - exercised by stopping the DB
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("healthz", 1, timeout=5)
        checks["cache"] = "ok" if cache.get("healthz") == 1 else "error: no value"
    except Exception as exc:
        checks["cache"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
