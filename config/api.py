"""The one NinjaAPI, mounted at /api/. Routers of each app are added here, and the API's contract is kept here.

The contract (README "The API"):

- Every refusal is `{"error": {"code", "message", "field"}}` (refunddesk/core/api_errors.py): refunddesk's
  own ApplicationErrors, django-ninja's validation errors (a missing field, a malformed date, a wrong
  type), a body that is not JSON, a body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (413), too many files or
  fields (413), an unknown route (404), a method the route does not take (405), a busy database (503).
- Messages are in the client's language: the first language of `Accept-Language` that refunddesk has,
  else the signed-in customer's language, else LANGUAGE_CODE; one language per answer.
- The OpenAPI document declares, for every route, each status it can answer with the error schema: what
  the router declares (403, 404, 409, 429, 503 ...) plus what every route of its kind can answer, added
  here once: 401 with authentication, 413 with a body, 422 with parameters, 503 for all (database busy).
- /api/docs serves Swagger UI from django-ninja's own static files ("ninja" in INSTALLED_APPS), so it
  works without internet access.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied as DjangoPermissionDenied,
)
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import re_path
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from refunddesk.core.api_errors import errors, field_name, validation_failure
from refunddesk.core.errors import (
    ApplicationError,
    AuthenticationFailed,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    TooManyRequests,
    ValidationError,
)

BODY_SOURCES = ("body", "form", "file")

# What routes in files this module's owner does not keep can answer beyond the common codes, by view function.
# (They may declare it themselves with `response={..., **errors(...)}`; the two are merged.)
DECLARED_HERE: dict[str, tuple[int, ...]] = {}  # route (module.function) -> statuses its own file cannot declare


class ExactJsonParser(Parser):
    """JSON numbers with a fraction become Decimal, never float, so amounts stay exact.

    Raises ValidationError (422, field `body`) for a body that is not JSON or not a JSON object, and lets
    Django's RequestDataTooBig through (a 413, see below)."""

    def parse_body(self, request: HttpRequest):
        if not request.body.strip() or not (request.content_type or "").endswith("json"):
            return {}  # form posts carry their fields as Form(...) parameters; a JSON schema then says what is missing
        try:
            data = json.loads(request.body, parse_float=Decimal)
        except UnicodeDecodeError:
            raise ValidationError(_("The body is not UTF-8 text."), field="body") from None
        except json.JSONDecodeError as exc:
            raise ValidationError(_("The body is not valid JSON (line %(line)s, column %(column)s).")
                                  % {"line": exc.lineno, "column": exc.colno}, field="body") from None
        except ValueError:  # numbers too long for Python's int() and the like
            raise ValidationError(_("The body is not valid JSON."), field="body") from None
        if not isinstance(data, dict):
            raise ValidationError(_("The body must be a JSON object."), field="body")
        return data


def client_language(request: HttpRequest) -> str | None:
    """The first language of the request's Accept-Language header that refunddesk has (`zh-hans`, `en`), or
    None when the header names none of them."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in translation.trans_real.parse_accept_lang_header(header):
        if code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


def _customer_language(request: HttpRequest) -> str | None:
    customer = getattr(getattr(request, "auth", None), "customer", None)
    language = getattr(customer, "language", None)
    if not language:
        return None
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return None


def activate_request_language(request: HttpRequest) -> str:
    """Activate the language this API request is answered in and return it: Accept-Language, else the
    signed-in customer's language (known once authentication ran), else LANGUAGE_CODE. Django's
    LocaleMiddleware would prefer a language cookie; an API answer follows the client's header."""
    language = client_language(request) or _customer_language(request) or settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()
    return language


class RefunddeskAPI(NinjaAPI):
    """NinjaAPI that keeps refunddesk's contract (see the module docstring)."""

    def create_temporal_response(self, request: HttpRequest) -> HttpResponse:
        # django-ninja calls this after authentication and before reading any parameter: the moment the
        # customer (and so their language) is known and before any message is made.
        activate_request_language(request)
        return super().create_temporal_response(request)

    def validation_error_from_error_contexts(self, error_contexts):
        """django-ninja's pydantic errors, as one 422 ApplicationError naming the parameter as sent."""
        problems = []
        for context in error_contexts:
            model = context.model
            source = model.__ninja_param_source__
            # A JSON body parameter (`payload: PlanIn`) is one level the client never wrote.
            wrapped = {name for name, info in model.model_fields.items()
                       if source == "body" and isinstance(info.annotation, type)
                       and hasattr(info.annotation, "model_fields")}
            for error in context.pydantic_validation_error.errors(include_url=False):
                loc = tuple(model.__ninja_flatten_map_reverse__.get(error["loc"], error["loc"]))
                if loc and loc[0] in wrapped:
                    loc = loc[1:]
                problems.append((field_name(loc) or ("body" if source in BODY_SOURCES else None), error))
        return validation_failure(problems)

    def _get_bound_routers(self):
        first_time = self._bound_routers_cache is None
        bound = super()._get_bound_routers()
        if first_time:
            for router in bound:
                for path_view in router.path_operations.values():
                    for operation in path_view.operations:
                        _declare_common_errors(operation)
        return bound

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = _json_method_not_allowed(pattern.callback)
        patterns.append(re_path(r"^.*$", _no_such_route, name="no-such-route"))
        return patterns, app_name, namespace


def _declare_common_errors(operation) -> None:
    """Add to one operation the error statuses every route of its kind can answer (module docstring)."""
    view = operation.view_func
    codes = {503, *DECLARED_HERE.get(f"{view.__module__}.{view.__name__}", ())}
    if operation.auth_callbacks:
        codes.add(401)
    sources = {model.__ninja_param_source__ for model in operation.models}
    if operation.models:
        codes.add(422)
    if sources & set(BODY_SOURCES):
        codes.add(413)
    for code, schema in errors(*sorted(codes)).items():
        if code not in operation.response_models:
            operation.response_models[code] = operation._create_response_model(schema)


def _json_method_not_allowed(view):
    """django-ninja answers a method a route does not take with a plain-text 405: give it the error shape."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            activate_request_language(request)
            exc = MethodNotAllowed(_("This route does not take %(method)s; it takes %(allowed)s.")
                                   % {"method": request.method, "allowed": allowed})
            out = _error_response(request, exc)
            out["Allow"] = allowed
            return out
        return response

    return wrapper


@csrf_exempt
def _no_such_route(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    activate_request_language(request)
    return _error_response(request, NotFound(_("There is no such API route; see /api/docs.")))


class UtcEncoder(NinjaJSONEncoder):
    """Every timestamp in the API in one format: RFC 3339 in UTC, "2026-11-29T10:00:00.123Z" (an arrival date
    computed on the merchant's calendar is sent in UTC too, not with its +08:00 offset)."""

    def default(self, o):
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            o = o.astimezone(dt.UTC)
        return super().default(o)


class UtcRenderer(JSONRenderer):
    encoder_class = UtcEncoder


api = RefunddeskAPI(
    renderer=UtcRenderer(),
    title="refunddesk API",
    version="1",
    description=(
        "Feed refunddesk with your billing data, let customers apply for refunds, and let staff act. "
        "Authenticate with `Authorization: Bearer <key>`. Amounts are decimal strings in major units. "
        'Every refusal is `{"error": {"code": "...", "message": "...", "field": "..." or null}}`, its '
        "message in the language of `Accept-Language` (zh-Hans or en), else the customer's language."
    ),
    parser=ExactJsonParser(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error_response(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = api.create_response(request, {"error": exc.as_dict()}, status=exc.status_code)
    response["Content-Language"] = translation.get_language()
    return response


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError):
    response = _error_response(request, exc)
    if exc.status_code == 503:
        response["Retry-After"] = "30"
    return response


@api.exception_handler(NinjaValidationError)
def _ninja_validation_error(request: HttpRequest, exc: NinjaValidationError):
    problems = [(field_name(tuple(e.get("loc", ()))[1:]), e) for e in exc.errors]
    return _error_response(request, validation_failure(problems))


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError):
    activate_request_language(request)
    return _error_response(request, AuthenticationFailed(
        _("Missing, unknown or expired credentials; send 'Authorization: Bearer <key or token>'."),
        field="Authorization"))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError):
    activate_request_language(request)
    cause = exc.__cause__  # django-ninja wraps whatever the parser raised in HttpError(400)
    if isinstance(cause, ApplicationError):
        return _application_error(request, cause)
    if isinstance(cause, SuspiciousOperation | OperationalError):
        return api.on_exception(request, cause)
    if cause is not None:
        return _error_response(request, ValidationError(_("The body cannot be read."), field="body"))
    if exc.status_code == 429:
        return _error_response(request, TooManyRequests(_("Too many requests; wait a minute and try again.")))
    if exc.status_code == 403:
        return _error_response(request, PermissionDenied(_("These credentials may not do this.")))
    error = ApplicationError(str(exc))
    error.status_code = exc.status_code
    return _error_response(request, error)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404):
    return _error_response(request, NotFound(_("Not found.")))


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request: HttpRequest, exc: DjangoPermissionDenied):
    return _error_response(request, PermissionDenied(_("These credentials may not do this.")))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig):
    activate_request_language(request)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error_response(request, PayloadTooLarge(
        _("The request body is over %(limit)s bytes; send less at once.") % {"limit": limit}, field="body"))


@api.exception_handler(TooManyFilesSent)
def _too_many_files(request: HttpRequest, exc: TooManyFilesSent):
    activate_request_language(request)
    return _error_response(request, PayloadTooLarge(
        _("Too many files in one request (at most %(n)s).") % {"n": settings.DATA_UPLOAD_MAX_NUMBER_FILES},
        field="files"))


@api.exception_handler(TooManyFieldsSent)
def _too_many_fields(request: HttpRequest, exc: TooManyFieldsSent):
    activate_request_language(request)
    return _error_response(request, PayloadTooLarge(
        _("Too many fields in one request (at most %(n)s).") % {"n": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
        field="body"))


@api.exception_handler(SuspiciousOperation)
def _unreadable(request: HttpRequest, exc: SuspiciousOperation):
    activate_request_language(request)
    return _error_response(request, ApplicationError(_("The request cannot be read."), code="bad_request"))


@api.exception_handler(OperationalError)
def _database_unavailable(request: HttpRequest, exc: OperationalError):
    """A locked or unreachable database: the 503 + Retry-After of refunddesk.core.middleware (the same error
    shape), here too when DEBUG is on (django-ninja would answer a traceback then). Anything else goes on to
    Django as the error it is."""
    from refunddesk.core.middleware import unavailable_response
    from refunddesk.core.outages import database_unavailable

    if not database_unavailable(exc):
        raise exc
    activate_request_language(request)
    return unavailable_response(request)


def _register_routers() -> None:
    from refunddesk.billing.api import router as billing_router
    from refunddesk.core.api import router as auth_router
    from refunddesk.policies.api import router as policy_router
    from refunddesk.refunds.api import customer_router, staff_router

    api.add_router("/v1/", billing_router)
    api.add_router("/v1/auth/", auth_router)
    api.add_router("/v1/", customer_router)
    api.add_router("/v1/staff/", staff_router)
    api.add_router("/v1/", policy_router)
    from refunddesk.reports.api import router as reports_router

    api.add_router("/v1/", reports_router)
    from refunddesk.payments.api import router as store_router

    api.add_router("/v1/store-notifications/", store_router)
    api.add_router("/v1/status/", "refunddesk.status.api.router")
    from refunddesk.portal.api import router as portal_router

    api.add_router("/v1/", portal_router)


_register_routers()
