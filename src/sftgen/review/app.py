"""The review web application: server-rendered pages (Jinja2, autoescaped) over the project's store.

It opens its own SQLite connection (WAL, short transactions), so it can be used while `sftgen run` writes.
Handlers are `async def`: they run one at a time on the event loop, which keeps the one connection safe.
"""

from __future__ import annotations

import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader

from sftgen.pipeline import standard_pipeline
from sftgen.project import Project
from sftgen.review import security
from sftgen.review.agreement import calibration, reviewer_agreement
from sftgen.decisions.log import ACCEPT, EDIT, REJECT, Decision, DecisionError
from sftgen.review.queue import STATUSES, TODO, ReviewQueue
from sftgen.review.views import item_view, rubric_dimensions

TEMPLATES = Path(__file__).parent / "templates"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_NAME = 60


def create_app(project: Project, token: str | None = None, bound_host: str | None = None,
               allowed_hosts: tuple[str, ...] | list[str] = ()) -> FastAPI:
    """`bound_host` and `allowed_hosts`: the host names, besides the loopback ones, that requests may name."""
    store = project.store()
    served_names = security.served_host_names(bound_host, allowed_hosts)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        store.close()

    app = FastAPI(title="sftgen review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    queue = ReviewQueue(store, standard_pipeline(project.recipe), project.recipe, lean=True)
    secret = secrets.token_bytes(32)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    app.state.store = store

    @app.middleware("http")
    async def guard(request: Request, call_next):
        server = request.scope.get("server")
        if not security.host_served(request.headers.get("host"), served_names, server[1] if server else None):
            refusal = PlainTextResponse(
                "421: this review server does not serve the host this request names; to reach it under "
                "another name, start it with --allowed-host NAME", status_code=421)
            refusal.headers["X-Content-Type-Options"] = "nosniff"
            return refusal
        if token:
            given = (request.query_params.get("token") or request.headers.get("x-review-token")
                     or bearer(request.headers.get("authorization")) or request.cookies.get(security.TOKEN_COOKIE))
            if not security.token_matches(given, token):
                return PlainTextResponse("401: this review server needs its access token", status_code=401)
        if request.method not in SAFE_METHODS and not security.same_origin(
            request.headers.get("origin"), request.headers.get("referer"), request.headers.get("host")
        ):
            return PlainTextResponse("403: cross-site request refused", status_code=403)
        session = request.cookies.get(security.SESSION_COOKIE)
        request.state.session = session or security.new_session_id()
        response = await call_next(request)
        if not session:
            response.set_cookie(security.SESSION_COOKIE, request.state.session, httponly=True, samesite="strict")
        if token and request.query_params.get("token"):
            response.set_cookie(security.TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    async def form_checked(request: Request) -> dict:
        form = dict(await request.form())
        if not security.csrf_valid(secret, request.cookies.get(security.SESSION_COOKIE), form.get("csrf")):
            raise CsrfRefused()
        return form

    @app.exception_handler(DecisionError)
    async def bad_decision(request: Request, exc: DecisionError):
        return PlainTextResponse(f"400: {exc}", status_code=400)

    class CsrfRefused(Exception):
        pass

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused):
        return PlainTextResponse("403: missing or wrong CSRF token", status_code=403)

    def render(request: Request, template: str, **context) -> HTMLResponse:
        filters = current_filters(request, queue)
        context.update(
            reviewer=request.cookies.get(security.REVIEWER_COOKIE, ""),
            csrf=security.csrf_token(secret, request.state.session),
            filters=filters, statuses=STATUSES, kinds=queue.kinds, subdomains=queue.subdomains(),
            progress=queue.progress(filters["kind"]) if filters["kind"] else None,
            project_name=project.recipe.project, query=urlencode(filters),
        )
        nonce = secrets.token_urlsafe(16)
        response = HTMLResponse(env.get_template(template).render(nonce=nonce, **context))
        # Only our own inline script (with this page's nonce) may run: injected markup could not execute.
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'"
        )
        return response

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request):
        if not request.cookies.get(security.REVIEWER_COOKIE):
            return render(request, "whoami.html")
        return RedirectResponse(f"/next?{urlencode(current_filters(request, queue))}", status_code=303)

    @app.get("/whoami", response_class=HTMLResponse)
    async def whoami_form(request: Request):
        return render(request, "whoami.html")

    @app.post("/whoami")
    async def whoami(request: Request):
        form = await form_checked(request)
        name = " ".join(str(form.get("name", "")).split())[:MAX_NAME]
        if not name:
            return PlainTextResponse("400: a reviewer needs a name", status_code=400)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(security.REVIEWER_COOKIE, name, samesite="strict", max_age=90 * 24 * 3600)
        return response

    @app.get("/next")
    async def next_item(request: Request, after: str | None = None, back: bool = False):
        reviewer = request.cookies.get(security.REVIEWER_COOKIE)
        if not reviewer:
            return RedirectResponse("/", status_code=303)
        filters = current_filters(request, queue)
        if not filters["kind"]:
            return render(request, "done.html")
        target = queue.pick_next(filters["kind"], reviewer, filters["status"], filters["subdomain"] or None,
                                 after, back)
        if target is None:
            return render(request, "done.html")
        return RedirectResponse(f"/item/{target}?{urlencode(filters)}", status_code=303)

    @app.get("/item/{item_id}", response_class=HTMLResponse)
    async def show_item(request: Request, item_id: str):
        if not request.cookies.get(security.REVIEWER_COOKIE):
            return RedirectResponse("/", status_code=303)
        item = queue.find(item_id)
        if item is None:
            return PlainTextResponse(f"404: no reviewable item {item_id}", status_code=404)
        view = item_view(store, item, project.recipe)
        return render(request, "candidates.html" if item.candidates else "item.html", shown_at=time.time(),
                      reject_reasons=project.recipe.review.reject_reasons, **view)

    @app.post("/item/{item_id}/decide")
    async def decide(request: Request, item_id: str):
        form = await form_checked(request)
        reviewer = request.cookies.get(security.REVIEWER_COOKIE)
        item = queue.find(item_id)
        if not reviewer or item is None:
            return PlainTextResponse("400: unknown item or reviewer without a name", status_code=400)
        if item.candidates:
            record_candidates_decision(queue, item, reviewer, form)
            filters = current_filters(request, queue)
            return RedirectResponse(f"/next?{urlencode({**filters, 'after': item.id})}", status_code=303)
        decision = str(form.get("decision", ""))
        reason = (str(form.get("reason_text", "")).strip() or str(form.get("reason", "")).strip()) or None
        edited = str(form.get("edited_text", ""))
        if decision == "accept" and edited.strip() and edited.strip() != str(form.get("original_text", "")).strip():
            decision = EDIT  # the text was changed before accepting
        scores = {}
        for dimension in rubric_dimensions(project.recipe) if item.kind == "answer" else []:
            value = str(form.get(f"score_{dimension}", "")).strip()
            if value:
                scores[dimension] = int(value) if value.isdigit() else -1
        shown_at = safe_float(form.get("shown_at"))
        queue.log.record(Decision(
            item_id=item.id, kind=item.kind, version_id=str(form.get("version_id") or item.state.version_id),
            reviewer=reviewer, decision=decision, reason=reason if decision == REJECT else None,
            edited_text=edited if decision == EDIT else None, scores=scores,
            seconds=round(time.time() - shown_at, 3) if shown_at else None,
        ))
        queue.decided(item.id, item.kind)
        filters = current_filters(request, queue)
        return RedirectResponse(f"/next?{urlencode({**filters, 'after': item.id})}", status_code=303)

    @app.get("/stats", response_class=HTMLResponse)
    async def stats(request: Request):
        decisions = queue.log.decisions()
        answers = {d.item_id for d in decisions if d.kind == "answer"}
        records = {item_id: store.get(item_id) for item_id in answers}
        return render(
            request, "stats.html",
            counts=queue.counts(),
            progress_by_kind={kind: queue.progress(kind) for kind in queue.kinds},
            agreement={kind: reviewer_agreement([d for d in decisions if d.kind == kind]) for kind in queue.kinds},
            calibration=calibration([d for d in decisions if d.kind == "answer"], records,
                                    rubric_dimensions(project.recipe)),
        )

    @app.get("/favicon.ico")
    async def favicon():
        return Response(status_code=204)

    return app


def record_candidates_decision(queue: ReviewQueue, item, reviewer: str, form: dict) -> None:
    """A pick of one of a prompt's candidates (as edited in its box), or the rejection of all of them."""
    shown_at = safe_float(form.get("shown_at"))
    seconds = round(time.time() - shown_at, 3) if shown_at else None
    ids = [member.id for member in item.candidates]
    picked = str(form.get("pick", ""))
    if picked:
        if picked not in ids:
            raise DecisionError(f"answer {picked}: not one of the candidates of this prompt")
        original = str(form.get(f"original_text_{picked}", "")).strip()
        edited = str(form.get(f"edited_text_{picked}", "")).strip()
        changed = bool(edited) and edited != original
        member = next(member for member in item.candidates if member.id == picked)
        queue.log.record(Decision(
            item_id=picked, kind="answer", version_id=str(form.get(f"version_id_{picked}") or member.state.version_id),
            reviewer=reviewer, decision=EDIT if changed else ACCEPT, edited_text=edited if changed else None,
            picked=True, seconds=seconds,
        ), recheck=[other for other in ids if other != picked])
    elif form.get("reject_all") or form.get("decision") == REJECT:
        reason = (str(form.get("reason_text", "")).strip() or str(form.get("reason", "")).strip()) or None
        if not reason:
            raise DecisionError(f"answers of prompt {item.record.meta.get('prompt_id')}: a rejection needs a reason")
        for member in item.candidates:
            queue.log.record(Decision(item_id=member.id, kind="answer", version_id=member.state.version_id,
                                      reviewer=reviewer, decision=REJECT, reason=reason, seconds=seconds))
    else:
        raise DecisionError(f"answers of prompt {item.record.meta.get('prompt_id')}: pick a candidate or reject all")
    queue.decided(item.id, "answer")


def current_filters(request: Request, queue: ReviewQueue) -> dict[str, str]:
    params = request.query_params
    kind = params.get("kind") if params.get("kind") in queue.kinds else (queue.kinds[0] if queue.kinds else "")
    status = params.get("status") if params.get("status") in STATUSES else TODO
    subdomain = params.get("subdomain", "") if params.get("subdomain", "") in queue.subdomains() else ""
    return {"kind": kind, "status": status, "subdomain": subdomain}


def bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def safe_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
