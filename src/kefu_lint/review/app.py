"""The workbench's web application (Starlette, Jinja2 templates, a little vanilla JS).

Pages are rendered on the server with every piece of chat text escaped (Jinja2 autoescape;
highlighted spans are built from escaped pieces here). Every form carries the session's
CSRF token and is refused without it; a POST from another origin is refused too. Bound to
another address than loopback, every request needs the access token (once: it is kept in
the signed session cookie).
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..formats import html_widgets
from .data import DISPUTE_STATES, GRADES, ROLE_NAMES, Filters, ReviewError, ReviewStore
from .words import WORDS

STATIC = Path(__file__).with_name("static")
ROLE_CHOICES = ("auditor", "lead", "agent")


def highlight(text: str, spans) -> Markup:
    """The message with its flagged words marked (html_widgets.highlight escapes everything)."""
    return Markup(html_widgets.highlight(text, spans))


def plain_title(title: str | None) -> str:
    return (title or "").replace("``", "")


def create_app(database: Path, *, token: str | None = None, language: str = "zh") -> Starlette:
    """The application over ``database``; ``token``: required of every client when set."""
    environment = Environment(loader=PackageLoader("kefu_lint.review", "templates"), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["highlight"] = highlight
    environment.filters["plain_title"] = plain_title
    environment.globals.update(link=conversation_link, GRADES=GRADES, DISPUTE_STATES=DISPUTE_STATES, ROLE_CHOICES=ROLE_CHOICES, charts=html_widgets)
    with _store(database) as store:
        store.prepare()

    def words(request: Request) -> dict[str, str]:
        chosen = request.query_params.get("lang")
        if chosen in WORDS:
            request.session["lang"] = chosen
        return WORDS[request.session.get("lang", language)]

    def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        t = words(request)
        flash = request.session.pop("flash", None)
        page = environment.get_template(template).render(
            request=request, t=t, user=request.state.user, csrf=_csrf(request), flash=flash,
            lang=request.session.get("lang", language), **context)
        return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)

    def back(request: Request, fallback: str = "/", error: str | None = None) -> RedirectResponse:
        if error:
            request.session["flash"] = error
        target = request.headers.get("referer") or fallback
        parsed = urlparse(target)
        local = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        return RedirectResponse(local or fallback, status_code=303)

    def guarded_form(request: Request) -> dict:
        form = request.state.form
        sent = str(form.get("csrf", ""))
        if not sent or not hmac.compare_digest(sent, _csrf(request)):
            raise PermissionError(words(request)["csrf"])
        origin = request.headers.get("origin")
        if origin and urlparse(origin).netloc != request.headers.get("host"):
            raise PermissionError(words(request)["csrf"])
        return {key: str(value) for key, value in form.items()}

    def page(handler):
        """Open a store for the request, check the token and the user, and turn a refused
        request into a message the user reads (a flash after a form, a page else)."""
        async def endpoint(request: Request) -> Response:
            if token and not request.session.get("token_ok"):
                given = request.query_params.get("token", "")
                if given and hmac.compare_digest(given, token):
                    request.session["token_ok"] = True
                else:
                    return PlainTextResponse("403: " + WORDS[language]["token_needed"] + " (?token=…)", status_code=403)
            request.state.form = await request.form() if request.method == "POST" else None
            # The database work runs in a worker thread with its own connection: two browsers
            # are two threads, serialised by SQLite's write lock, and a slow page does not
            # hold up the others.
            return await run_in_threadpool(serve, request)

        def serve(request: Request) -> Response:
            with _store(database) as store:
                store.refresh_cache()
                name = request.session.get("user")
                request.state.user = store.user(name) if name else None
                if request.state.user is None and handler.__name__ not in ("login", "login_post"):
                    return RedirectResponse("/login?next=" + quote(str(request.url.path)), status_code=303)
                try:
                    return handler(request, store)
                except PermissionError as error:
                    if request.method == "POST":
                        return back(request, error=str(error))
                    return render(request, "error.html", status=403, message=str(error))
                except ReviewError as error:
                    if request.method == "POST":
                        return back(request, error=str(error))
                    return render(request, "error.html", status=400, message=str(error))
        endpoint.__name__ = handler.__name__
        return endpoint

    def require(request: Request, *roles: str) -> str:
        user = request.state.user
        if user is None or user["role"] not in roles:
            raise PermissionError(words(request)["forbidden"] + f"（{'、'.join(ROLE_NAMES[r] for r in roles)}）")
        return user["name"]

    # -- pages --

    def login(request: Request, store: ReviewStore) -> Response:
        return render(request, "login.html", users=store.users(), next=request.query_params.get("next", "/"))

    def login_post(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        name = form.get("name", "").strip()
        if not store.users():
            store.add_user(name, "lead", name)   # the first user sets the workbench up
        if store.user(name) is None:
            raise ReviewError(f"没有用户「{name}」。")
        request.session["user"] = name
        target = form.get("next") or "/"
        return RedirectResponse(target if target.startswith("/") and not target.startswith("//") else "/", status_code=303)

    def logout(request: Request, store: ReviewStore) -> Response:
        guarded_form(request)
        request.session.pop("user", None)
        return RedirectResponse("/login", status_code=303)

    def overview(request: Request, store: ReviewStore) -> Response:
        query = dict(request.query_params)
        if request.state.user["role"] == "agent":   # an agent sees their own figures
            query["agent"] = request.state.user["name"]
        filters = Filters.from_query(query)
        period = "week" if request.query_params.get("period") == "week" else "day"
        data = store.overview(filters, period)
        top_bars = [(f"{r['code']} {r['name']}", r["findings"], r["zone"]) for r in data["top_rules"]]
        top_links = ["/conversations?" + filters.query_string(code=r["code"]) for r in data["top_rules"]]
        return render(request, "overview.html", filters=filters, data=data, choices=store.choices(), period=period,
                      run=store.latest_run(), top_bars=top_bars, top_links=top_links)

    def conversation_list(request: Request, store: ReviewStore) -> Response:
        query = dict(request.query_params)
        if request.state.user["role"] == "agent":
            query["agent"] = request.state.user["name"]
        filters = Filters.from_query(query)
        queue = request.query_params.get("queue") == "1"
        order = request.query_params.get("order", "score")
        try:
            number = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            number = 1
        rows = store.conversations(filters, number, order, queue=queue)
        return render(request, "list.html", filters=filters, rows=rows, choices=store.choices(), queue=queue, order=order)

    def conversation(request: Request, store: ReviewStore) -> Response:
        cid = request.path_params["cid"]
        view = store.conversation(cid)
        user = request.state.user
        if user["role"] == "agent" and user["name"] not in {p["agent"] for p in view.parts}:
            raise PermissionError(words(request)["forbidden"])
        return render(request, "conversation.html", view=view, rules=store.choices()["rules"], blind=store.blind_for(cid, user),
                      back_query=request.query_params.get("from", ""))

    def verdict(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        store.set_verdict(form.get("finding_key", ""), require(request, "auditor", "lead"), form.get("verdict", ""),
                          form.get("reason", ""))
        return back(request)

    def missed(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        try:
            index = int(form.get("message_index", ""))
        except ValueError:
            raise ReviewError("请选择消息序号。") from None
        store.add_missed(request.path_params["cid"], index, form.get("code", ""), form.get("flagged", ""),
                         require(request, "auditor", "lead"), form.get("note", ""))
        return back(request)

    def missed_remove(request: Request, store: ReviewStore) -> Response:
        guarded_form(request)
        store.remove_missed(int(request.path_params["missed_id"]), require(request, "auditor", "lead"))
        return back(request)

    def regrade(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        try:
            score = int(form.get("score", ""))
        except ValueError:
            raise ReviewError("请填写 0 到 100 的分数。") from None
        store.regrade(request.path_params["cid"], require(request, "auditor", "lead"), score, form.get("reason", ""))
        return back(request)

    def dispute(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        store.file_dispute(form.get("finding_key", ""), require(request, "agent", "lead"), form.get("reason", ""))
        return back(request)

    def disputes(request: Request, store: ReviewStore) -> Response:
        state = request.query_params.get("state", "open")
        state = state if state in DISPUTE_STATES else ""
        agent = request.state.user["name"] if request.state.user["role"] == "agent" else ""
        return render(request, "disputes.html", rows=store.disputes(state, agent), state=state)

    def settle(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        state = form.get("state", "")
        who = request.state.user["name"] if state == "withdrawn" else require(request, "lead")
        store.settle_dispute(int(request.path_params["dispute_id"]), who, state, form.get("decision", ""))
        return back(request, "/disputes")

    def plan(request: Request, store: ReviewStore) -> Response:
        require(request, "auditor", "lead")
        return render(request, "plan.html", plan=store.plan(), progress=store.plan_progress(), rules=store.choices()["rules"])

    def plan_post(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        new_plan: dict = {"grades": {}, "rules": {}}
        for key, value in form.items():
            for prefix, section in (("grade_", "grades"), ("rule_", "rules")):
                if key.startswith(prefix) and value.strip():
                    try:
                        new_plan[section][key[len(prefix):]] = float(value) / 100
                    except ValueError:
                        raise ReviewError(f"抽检比例「{value}」不是数字。") from None
        store.set_plan(new_plan, require(request, "lead"))
        return RedirectResponse("/plan", status_code=303)

    def calibrations(request: Request, store: ReviewStore) -> Response:
        require(request, "auditor", "lead")
        return render(request, "calibrations.html", sessions=store.calibrations(), users=store.users(),
                      choices=store.choices(), filters=Filters())

    def calibration_post(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        raw = request.state.form
        try:
            size = int(form.get("size", "10"))
        except ValueError:
            size = 10
        new_id = store.create_calibration(form.get("name", ""), require(request, "lead"), raw.getlist("reviewers"), size,
                                          Filters.from_query(form))
        return RedirectResponse(f"/calibration/{new_id}", status_code=303)

    def calibration(request: Request, store: ReviewStore) -> Response:
        require(request, "auditor", "lead")
        return render(request, "calibration.html", data=store.calibration(int(request.path_params["calibration_id"])))

    def users(request: Request, store: ReviewStore) -> Response:
        require(request, "lead")
        return render(request, "users.html", users=store.users(), log=store.recent_log())

    def users_post(request: Request, store: ReviewStore) -> Response:
        form = guarded_form(request)
        store.add_user(form.get("name", ""), form.get("role", ""), require(request, "lead"))
        return RedirectResponse("/users", status_code=303)

    routes = [
        Route("/login", page(login)), Route("/login", page(login_post), methods=["POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/", page(overview)), Route("/conversations", page(conversation_list)),
        Route("/c/{cid:path}/verdict", page(verdict), methods=["POST"]),
        Route("/c/{cid:path}/missed/{missed_id:int}/remove", page(missed_remove), methods=["POST"]),
        Route("/c/{cid:path}/missed", page(missed), methods=["POST"]),
        Route("/c/{cid:path}/regrade", page(regrade), methods=["POST"]),
        Route("/c/{cid:path}/dispute", page(dispute), methods=["POST"]),
        Route("/c/{cid:path}", page(conversation)),
        Route("/disputes", page(disputes)), Route("/disputes/{dispute_id:int}", page(settle), methods=["POST"]),
        Route("/plan", page(plan)), Route("/plan", page(plan_post), methods=["POST"]),
        Route("/calibration", page(calibrations)), Route("/calibration", page(calibration_post), methods=["POST"]),
        Route("/calibration/{calibration_id:int}", page(calibration)),
        Route("/users", page(users)), Route("/users", page(users_post), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie="kefu_review",
                             same_site="strict", https_only=False)]
    return Starlette(routes=routes, middleware=middleware)


#: No inline script may run (every script is a file under /static), nothing loads from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _csrf(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return request.session["csrf"]


class _store:
    """A ReviewStore for the length of a request."""

    def __init__(self, database: Path) -> None:
        self.database = database

    def __enter__(self) -> ReviewStore:
        self.store = ReviewStore(self.database)
        return self.store

    def __exit__(self, *exc) -> None:
        self.store.close()


def conversation_link(conversation_id: str, query: str = "") -> str:
    return "/c/" + quote(conversation_id, safe="") + (f"?{urlencode({'from': query})}" if query else "")
