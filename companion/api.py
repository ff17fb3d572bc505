"""API plumbing shared by the apps: one error shape for every 4xx."""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ServiceError

DRF_CODES = {
    exceptions.NotAuthenticated: "auth_required",
    exceptions.AuthenticationFailed: "auth_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "invalid_json",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ValidationError: "invalid",
}


def exception_handler(exc, context):
    """Render ServiceError and DRF's own errors as ``{"code", "message", ...}``."""
    if isinstance(exc, ServiceError):
        headers = {}
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(max(1, round(exc.details["retry_after"])))
        return Response(exc.as_dict(), status=exc.http_status, headers=headers)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Http404):
        code = "not_found"
    elif isinstance(exc, DjangoPermissionDenied):
        code = "forbidden"
    else:
        code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": code, "message": "Some fields are not valid.", "fields": response.data}
    else:
        body = {"code": code, "message": str(getattr(exc, "detail", exc))}
    if response.status_code == status.HTTP_401_UNAUTHORIZED and code == "forbidden":
        body["code"] = "auth_required"
    response.data = body
    return response
