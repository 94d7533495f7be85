from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render

from patients import audit
from patients.parsing import QueryParamError

API_PREFIXES = ("/api/", "/fhir/")
BODY_TOO_LARGE = (
    "The request body is {size} bytes; the API accepts at most {limit} bytes per request. "
    "Send fewer results per request."
)


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIXES)


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
        too_large = self._too_large(request)
        if too_large:
            return too_large
        try:
            has_nul = self._has_nul(request)
        except RequestDataTooBig:
            return self._refuse(
                request,
                BODY_TOO_LARGE.format(
                    size="more than " + str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
                    limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
                ),
                status=413,
            )
        if has_nul:
            return self._refuse(request, self.MESSAGE)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, message: str, status: int = 400):
        if is_api(request):
            return JsonResponse({"detail": message}, status=status)
        return HttpResponseBadRequest(
            message, content_type="text/plain; charset=utf-8", status=status
        )

    def _too_large(self, request):
        """The API's body limit, checked on the declared length before anything reads it."""
        if not is_api(request):
            return None
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        limit = settings.API_MAX_BODY_BYTES
        if size > limit:
            return self._refuse(request, BODY_TOO_LARGE.format(size=size, limit=limit), status=413)
        return None

    @staticmethod
    def _has_nul(request) -> bool:
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path_info:
            return True
        if request.method in ("POST", "PUT", "PATCH"):
            body = request.body  # read once; Django caches it for the view
            # A NUL as a raw byte, URL-encoded in a form, or escaped in JSON.
            return b"\x00" in body or b"%00" in body or b"\\u0000" in body
        return False


class QueryParamErrorMiddleware:
    """A query parameter outside what a page accepts (``patients.parsing.QueryParamError``)
    answers 400 with the accepted range: JSON on the API, the 400 page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, QueryParamError):
            return None
        if is_api(request):
            return JsonResponse(
                {"detail": exception.message, "errors": {exception.field: [exception.message]}},
                status=400,
            )
        return render(request, "400.html", {"message": exception.message}, status=400)


class ApiAccessLogMiddleware:
    """Every successful API or FHIR response that carries a patient's data writes the
    access log (``patients.audit``): the patient of a ``public_id`` route, or the patients a
    list route named."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api(request) and 200 <= response.status_code < 300:
            audit.write_reads(request)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_api(request) and "public_id" in view_kwargs:
            audit.note_public_id(request, view_kwargs["public_id"])
        return None
