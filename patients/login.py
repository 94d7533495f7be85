"""The log-in page: django-axes' lockout plus two checks of our own (README, "Security").

* A username longer than the user model allows is refused by the form, before
  ``authenticate()`` runs, so the lockout code never stores an impossible name.
* Besides axes' lock on username AND client address together, one client address is
  throttled after ``AXES_CLIENT_FAILURE_LIMIT`` failures of any usernames within the
  cool-off time, counted from axes' own failure log. A named user can still log in from
  another client while someone sprays wrong passwords for that name.
"""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from axes.models import AccessFailureLog
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils import timezone

USERNAME_TOO_LONG = "A username has at most {limit} characters."
CLIENT_THROTTLED = (
    "Too many failed log-in attempts from this computer. Wait {minutes} minutes and try "
    "again, or ask an administrator."
)


class LoginForm(AuthenticationForm):
    def clean_username(self):
        username = self.cleaned_data.get("username") or ""
        limit = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length
        if len(username) > limit:
            raise forms.ValidationError(USERNAME_TOO_LONG.format(limit=limit))
        return username


def client_failures(request) -> int:
    """Failed log-ins from this request's client address within the cool-off time."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return AccessFailureLog.objects.filter(
        ip_address=get_client_ip_address(request), attempt_time__gte=since
    ).count()


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if client_failures(request) >= settings.AXES_CLIENT_FAILURE_LIMIT:
            minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
            return render(
                request,
                "registration/locked_out.html",
                {"message": CLIENT_THROTTLED.format(minutes=minutes)},
                status=429,
            )
        return super().post(request, *args, **kwargs)
