"""HTTP errors: JSON under /api/ (web.api.json_errors), elsewhere a page in the user's
language. A message given with `abort(code, gettext(...))` is shown as it is (it is
translated where it was raised); Werkzeug's own English descriptions are replaced by ours."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from web.api import is_api, json_errors
from web.i18n import N_

TITLES = {
    400: N_("The request could not be processed"),
    401: N_("Please sign in"),
    403: N_("Your role may not do this"),
    404: N_("Not found"),
    405: N_("This action is not possible here"),
    413: N_("The upload is larger than the limit"),
    429: N_("Too many attempts; please wait a few minutes"),
}
OTHER = N_("Something went wrong on our side; please try again later")


def page(exc: HTTPException) -> Any:
    if is_api():
        return json_errors(exc)
    status = exc.code or 500
    own = exc.description if exc.description != type(exc).description else ""
    return render_template("error.html", status=status,
                           title=gettext(TITLES.get(status, OTHER)), message=own), status


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, page)
