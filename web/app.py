"""The Flask app factory. Nothing happens at import; `create_app(runtime)` builds the app."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.runtime import Runtime
from engine.services.tokens import secret_key


def create_app(rt: Runtime, *, testing: bool = False) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(rt),  # a random key kept under storage.dir
        MAX_CONTENT_LENGTH=rt.config["limits.upload_mb"] * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=rt.config["web.https"],
        TESTING=testing,
    )
    app.extensions["o2c"] = rt

    from web import auth, views

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    from web.i18n import init_babel

    init_babel(app, rt.config.path("storage.dir"))  # German and English; .po compiled here
    views.register_filters(app)
    from web import api, errors, portal

    api.init_app(app)  # the /api/v1 blueprint
    errors.init_app(app)  # JSON errors under /api/, translated pages elsewhere
    app.register_blueprint(portal.bp)
    if rt.config["web.https"]:  # behind a TLS proxy: its client address and scheme
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    app.before_request(auth.check_csrf)
    app.jinja_env.globals["csrf_token"] = auth.csrf_token
    return app
