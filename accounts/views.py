"""Account pages: sign up, join as guest, API token. Log in and out are Django's."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from companion.errors import ServiceError

from . import services
from .forms import SignupForm

BACKEND = "django.contrib.auth.backends.ModelBackend"


def safe_next(request) -> str:
    """The ``next`` of the request when it points at this site, else ''."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return ""


def after_login_url(request) -> str:
    return safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL)


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend=BACKEND)
        return redirect(after_login_url(request))
    return render(request, "accounts/signup.html", {"form": form, "next": safe_next(request)})


@require_POST
def guest(request):
    """Join as a guest: one name in, an account and a session out."""
    if request.user.is_authenticated:
        return redirect(after_login_url(request))
    display_name = request.POST.get("display_name", "")
    try:
        user = services.guest_create(display_name=display_name, ip=request.META.get("REMOTE_ADDR"))
    except ServiceError as error:
        context = {"error": error, "display_name": display_name, "next": safe_next(request)}
        return render(request, "accounts/guest.html", context, status=error.http_status)
    login(request, user, backend=BACKEND)
    return redirect(after_login_url(request))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token(request):
    """Show the API token and how to use it; POST replaces it."""
    if request.method == "POST":
        services.token_rotate(user=request.user)
        messages.success(request, "Your API token was replaced; the old one no longer works.")
        return redirect("token")
    key = services.token_get_or_create(user=request.user).key
    ws_scheme = "wss" if request.is_secure() else "ws"
    return render(
        request,
        "accounts/token.html",
        {
            "key": key,
            "api_base": request.build_absolute_uri("/api/"),
            "ws_base": f"{ws_scheme}://{request.get_host()}/ws/events/",
        },
    )
