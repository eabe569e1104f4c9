"""The API's one error contract: the body every refusal has, the status codes a route declares, and the
translation of request-validation failures (django-ninja over pydantic) into that body.

Every refusal the API gives is `{"error": {"code": str, "message": str, "field": str | null}}`
(ErrorOut), with the HTTP status of the ApplicationError class that was raised (refunddesk/core/errors.py).
`field` names the parameter as the client sent it: a JSON member (`period_days`, nested as
`prices[0].price`), a form field (`order_number`, `files`), a query parameter (`limit`) or a path parameter
(`order_id`). The message is in the language of the request (config/api.py decides which), and so are the
messages made here: pydantic's own English texts are never passed on.

Routers declare the codes a route can answer with `errors(...)`; config/api.py adds the ones every route
of a kind can answer (401 with authentication, 413 with a body, 422 with parameters, 503 always).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ConfigDict

from refunddesk.core.errors import ApplicationError, ValidationError


class ErrorDetail(Schema):
    """What went wrong. More members may follow for some codes (`fields`, `errors`, `request`)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    """The body of every 4xx and 503 answer of the API."""

    error: ErrorDetail


# What each status means in this API (the OpenAPI document's descriptions say the same).
STATUS_MEANINGS: dict[int, str] = {
    400: "the request cannot be read",
    401: "no credentials, or unknown or expired ones",
    403: "the credentials are valid but may not do this",
    404: "no such resource (or not one of yours)",
    405: "the route does not take this method",
    409: "the request clashes with the resource's current state",
    413: "the body, a file, or the number of files is over the limit",
    422: "a parameter is missing or invalid; `field` names it",
    429: "too many attempts; wait and try again",
    503: "not configured yet, or the database is busy; try again later",
}


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """`{code: ErrorOut}` for a route's `response=` mapping, e.g. `response={200: Out, **errors(404, 409)}`.

    Raises ValueError for a code that is not an error this API answers (see STATUS_MEANINGS)."""
    unknown = [c for c in codes if c not in STATUS_MEANINGS]
    if unknown:
        raise ValueError(f"not an error status of this API: {unknown}")
    return {code: ErrorOut for code in codes}


def field_name(loc: Sequence[Any]) -> str | None:
    """A pydantic location, without ninja's source and body-parameter levels, as the client wrote it:
    `("prices", 0, "price")` -> `"prices[0].price"`; `()` -> None."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


def _message(error: Mapping[str, Any], field: str | None) -> str:
    """A message for one pydantic error, in the active language, naming the field."""
    kind = str(error.get("type", ""))
    ctx = {k: (", ".join(map(str, v)) if isinstance(v, list | tuple) else v)
           for k, v in dict(error.get("ctx") or {}).items()}
    name = field or _("the body")
    params = {"field": name, **ctx}
    if kind == "missing":
        text = _("%(field)s is required.")
    elif kind.startswith("int_") or kind in ("int_type", "int_parsing", "int_from_float"):
        text = _("%(field)s must be a whole number.")
    elif kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "decimal_whole_digits",
                  "number_type"):
        text = _("%(field)s must be a number.")
    elif kind == "decimal_max_digits":
        text = _("%(field)s must have at most %(max_digits)s digits.")
    elif kind == "decimal_max_places":
        text = _("%(field)s must have at most %(decimal_places)s decimals.")
    elif kind == "finite_number":
        text = _("%(field)s must be a finite number.")
    elif kind.startswith("bool"):
        text = _("%(field)s must be true or false.")
    elif kind in ("string_type", "string_unicode", "bytes_type"):
        text = _("%(field)s must be text.")
    elif kind == "string_too_long":
        text = _("%(field)s must be at most %(max_length)s characters long.")
    elif kind == "string_too_short":
        text = _("%(field)s must be at least %(min_length)s characters long.")
    elif kind.startswith("datetime") or kind.startswith("timezone"):
        text = _("%(field)s must be a date and time with an offset, such as 2026-03-01T10:00:00+08:00.")
    elif kind.startswith("date"):
        text = _("%(field)s must be a date such as 2026-03-01.")
    elif kind == "greater_than":
        text = _("%(field)s must be more than %(gt)s.")
    elif kind == "greater_than_equal":
        text = _("%(field)s must be %(ge)s or more.")
    elif kind == "less_than":
        text = _("%(field)s must be less than %(lt)s.")
    elif kind == "less_than_equal":
        text = _("%(field)s must be %(le)s or less.")
    elif kind == "too_long":
        text = _("%(field)s may have at most %(max_length)s items.")
    elif kind == "too_short":
        text = _("%(field)s needs at least %(min_length)s items.")
    elif kind in ("list_type", "tuple_type", "set_type", "iterable_type"):
        text = _("%(field)s must be a list.")
    elif kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        text = _("%(field)s must be a JSON object.")
    elif kind in ("literal_error", "enum"):
        text = _("%(field)s must be one of %(expected)s.")
    else:
        text = _("%(field)s is not valid.")
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return _("%(field)s is not valid.") % {"field": name}


def validation_failure(problems: Iterable[tuple[str | None, Mapping[str, Any]]]) -> ValidationError:
    """One 422 ValidationError for the pydantic errors of a request, each given as (field, error).

    The first problem gives `field` and `message`; all of them are listed in `errors`
    (`[{"field", "code", "message"}]`), so that a client can fix every one at once."""
    listed = [{"field": field, "code": str(err.get("type", "invalid")), "message": _message(err, field)}
              for field, err in problems]
    if not listed:
        return ValidationError(_("The request is not valid."), field=None)
    first = listed[0]
    return ValidationError(first["message"], field=first["field"], errors=listed)


@contextmanager
def fields_as_sent(**api_names: str) -> Iterator[None]:
    """Inside it, an ApplicationError whose `field` is a service's name for an input is re-raised with the
    name the API client sent it under, e.g. `fields_as_sent(evidence="files")`: the portal's form calls the
    upload field `evidence`, the API's multipart parameter is `files`."""
    try:
        yield
    except ApplicationError as exc:
        if exc.field in api_names:
            exc.field = api_names[exc.field]
        raise
