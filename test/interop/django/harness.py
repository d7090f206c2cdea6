# Test-only views and middleware: what the interop tests need to see of DOT's side (which grants it
# answered, which tokens it holds) without a Django shell per question. Never part of a real deployment.
import json
import threading
from datetime import timezone as dt_timezone

from django.http import JsonResponse

from oauth2_provider.models import AccessToken, RefreshToken

_lock = threading.Lock()
_grants = []
_authorizations = []


class GrantLogMiddleware:
    """Records every answer of the token and revocation endpoints (path, grant type, status, error)
    and the state and scope of every authorization request a browser brings to DOT."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and request.path == "/o/authorize/" and "state" in request.GET:
            with _lock:
                _authorizations.append({"state": request.GET["state"], "scope": request.GET.get("scope", "")})
        watched = request.method == "POST" and request.path in ("/o/token/", "/o/revoke_token/")
        grant_type = request.POST.get("grant_type", "") if watched else ""
        response = self.get_response(request)
        if watched:
            error = ""
            if response.status_code >= 400:
                try:
                    error = json.loads(response.content.decode()).get("error", "")
                except ValueError:
                    error = "<no json>"
            with _lock:
                _grants.append(
                    {"path": request.path, "grant_type": grant_type, "status": response.status_code, "error": error}
                )
        return response


def grants(request):
    with _lock:
        return JsonResponse({"grants": list(_grants), "authorizations": list(_authorizations)})


def _iso(value):
    return value.astimezone(dt_timezone.utc).isoformat() if value else None


def tokens(request):
    access = [
        {
            "id": t.id,
            "token": t.token,
            "client_id": t.application.client_id if t.application else None,
            "user": t.user.get_username() if t.user else None,
            "scope": t.scope,
            "expires": _iso(t.expires),
            "valid": t.is_valid(),
        }
        for t in AccessToken.objects.select_related("application", "user").order_by("id")
    ]
    refresh = [
        {
            "id": t.id,
            "token": t.token,
            "client_id": t.application.client_id,
            "user": t.user.get_username(),
            "revoked": _iso(t.revoked),
            "access_token_id": t.access_token_id,
        }
        for t in RefreshToken.objects.select_related("application", "user").order_by("id")
    ]
    return JsonResponse({"access": access, "refresh": refresh})


def ready(request):
    return JsonResponse({"ready": True})
