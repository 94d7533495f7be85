from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpResponseBadRequest, JsonResponse


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    """Every page needs a logged-in user. The API authenticates inside Django REST
    framework (token or session) and answers 401/403 instead of redirecting to a form."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RejectNulCharactersMiddleware:
    """PostgreSQL text cannot hold NUL (0x00) characters; a lookup with one fails deep in the
    database driver. Refuse such a request at the door with a clear 400 instead of a 500."""

    MESSAGE = "The request contains a NUL (0x00) character, which no field accepts. Remove it and send again."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": self.MESSAGE}, status=400)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path_info:
            return True
        if request.method in ("POST", "PUT", "PATCH"):
            body = request.body  # read once; Django caches it for the view
            # A NUL as a raw byte, URL-encoded in a form, or escaped in JSON.
            return b"\x00" in body or b"%00" in body or b"\\u0000" in body
        return False
