"""Templates, and turning the API's refusals into pages with the same status codes."""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from babel.numbers import format_decimal, format_percent
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.security import Principal, Role
from api.web import findings, i18n, numbers, steps
from api.web.i18n import N_, ngettext
from api.web.i18n import gettext as _
from api.web.labels import Labels, capability_labels
from api.web.messages import plain
from api.web.session import MAX_FORM_BYTES, NotSignedIn, current_principal, forget, home_of
from api.web.vocabulary import word
from graph.introductions import Conflict, IntroductionNotFound
from graph.invitations import InvitationNotFound
from graph.members import MemberNotFound
from graph.projects import ProjectNotFound
from graph.store import NetworkNotFound
from graph.validation import DocumentForbidden, DocumentInvalid
from matching.workflow import TransitionError

HERE = Path(__file__).parent
env = Environment(loader=FileSystemLoader(HERE / "templates"), extensions=["jinja2.ext.i18n"],
                  autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
# The callables read the request's language (``api.web.i18n``): one environment serves all.
env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext,
    npgettext=i18n.npgettext)
env.globals.update(languages=i18n.LANGUAGES)


def _money(value: float | None) -> str:
    """Whole euros with the reader's digit grouping (1,234 EUR; 1.234 EUR in Spanish).

    Figures are sums of what facilitators typed, without an upper bound: Babel rounds in the
    decimal context, whose 28 digits a saving of 1e30 passes (InvalidOperation, the dashboard
    and exports pages answered 500), so the context holds every digit; a sum past the largest
    float (inf) is no amount and shows as none."""
    if value is None or not math.isfinite(value):
        return "—"
    whole = round(value)
    with decimal.localcontext() as context:
        context.prec = max(context.prec, len(str(abs(whole))) + 1)
        return f"{format_decimal(whole, format='#,##0', locale=i18n.language())} EUR"


def _pct(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0%",
                                                     locale=i18n.language())


def _plain(value: Any) -> str:
    """A number as people write it: 6 rather than 6.0, 2,5 in Spanish; anything else as text."""
    return numbers.shown(value)


def _two_decimals(value: float) -> str:
    """0.17 (0,17 in Spanish)."""
    return format_decimal(value, format="0.00", locale=i18n.language())


env.filters.update(money=_money, pct=_pct, plain=_plain, word=word, plain_decimal=_two_decimals)
env.globals.update(steps=steps, findings=findings, money=_money)  # roadmap steps in the reader's language
env.globals["form_limit"] = MAX_FORM_BYTES  # app.js checks a form's size before sending it

NAV = {  # label (translated where shown), path (relative to the network) per role
    Role.MEMBER: [(N_("My home"), "home/{member}"), (N_("Browse members"), "members"),
                  (N_("Outside agents"), "agents")],
    Role.FACILITATOR: [(N_("Dashboard"), "dashboard"), (N_("Browse members"), "members"),
                       (N_("Projects"), "projects"), (N_("Outside agents"), "agents"),
                       (N_("Exports"), "exports")],
    Role.ANALYST: [(N_("Exports"), "exports"), (N_("Browse members"), "members"),
                   (N_("Projects"), "projects"), (N_("Outside agents"), "agents")],
}


def network_links(principal: Principal, nid: str) -> list[tuple[str, str]]:
    """The pages of network ``nid`` this principal may open: (label, path in the network)."""
    if principal.is_admin:
        return NAV[Role.FACILITATOR]
    if principal.network != nid:
        return []
    return [(label, path.format(member=principal.member)) for label, path in NAV[principal.role]]


def nav(principal: Principal | None, nid: str | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    links = [(N_("Networks"), "/n")] if principal.is_admin else []
    network = nid if principal.is_admin else principal.network
    if network:
        links += [(label, f"/n/{network}/{path}")
                  for label, path in network_links(principal, network)]
    return links


def _labelled(ids: Any, labels: Labels) -> list[Any]:
    """Capability ids as their labels, sorted as the reader reads them."""
    return sorted((labels[i] for i in ids), key=lambda label: label.text.casefold())


env.filters.update(labelled=_labelled)
env.globals.update(network_links=network_links)


def page(request: Request, template_name: str, status_code: int = 200, *,
         principal: Principal | None = None, nid: str | None = None, **context: Any
         ) -> HTMLResponse:
    network = nid or (principal.network if principal else None)
    labels = Labels(capability_labels(request.app.state.db, network)) if principal else Labels()
    context.setdefault("csrf", getattr(request.state, "csrf", ""))  # for every POST form
    html = env.get_template(template_name).render(
        request=request, principal=principal, nid=nid, nav=nav(principal, nid),
        signed_in_as=_own_name(request, principal),
        path=request.url.path, labels=labels, lang=i18n.language(), **context)
    return HTMLResponse(html, status_code=status_code)


def _own_name(request: Request, principal: Principal | None) -> str | None:
    """The signed-in member's own (public) name for the header, its id if it cannot be read."""
    if principal is None or not principal.member or not principal.network:
        return None
    try:
        with request.app.state.matchers.reading(request.app.state.db,
                                                principal.network) as matcher:
            return matcher.projection_.ties.nodes[principal.member].get("name") \
                or principal.member
    except LookupError:  # a removed member or network: the page itself says what is wrong
        return principal.member


ERROR_TITLES = {403: N_("Not allowed"), 404: N_("Not found"), 405: N_("Not possible here"),
                409: N_("Conflict"), 413: N_("Too large"), 422: N_("Not valid"),
                500: N_("Something went wrong")}


def error_page(request: Request, status_code: int, message: str,
               principal: Principal | None = None, problems: list[dict] | None = None
               ) -> HTMLResponse:
    title = ERROR_TITLES.get(status_code, ERROR_TITLES[500])
    return page(request, "error.html", status_code, principal=principal,
                title=_(title), message=message,
                problems=[{**p, "message": plain(p["message"])} for p in problems or []])


def _return_to(request: Request) -> str | None:
    """Where to go after signing in again: this page, or for a form sent with an expired
    session the page the form was on (its address answers only POST: a GET there is a 405)."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.headers.get("host") and \
            referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return None


def guarded(request: Request, work: Callable[[Principal], Response]) -> Response:
    """Run a page for the signed-in principal; refusals become error pages, never leaks."""
    try:
        principal = current_principal(request)
    except NotSignedIn:
        target = _return_to(request)
        response = RedirectResponse(f"/signin?next={quote(target)}" if target else "/signin",
                                    status_code=303)
        if request.cookies.get("pm_session"):
            forget(request, response)
        return response
    try:
        return work(principal)
    except HTTPException as exc:
        return error_page(request, exc.status_code, plain(str(exc.detail)), principal)
    except (MemberNotFound, NetworkNotFound, IntroductionNotFound, ProjectNotFound,
            InvitationNotFound) as exc:
        return error_page(request, 404, _("There is no %(name)r here.") % {"name": exc.args[0]},
                          principal)
    except DocumentForbidden as exc:
        return error_page(request, 403, _("You may not make these changes; nothing was saved."),
                          principal, exc.as_errors())
    except DocumentInvalid as exc:
        return error_page(request, 422, ngettext("%(num)d problem found.",
                                                 "%(num)d problems found.", len(exc.problems))
                          % {"num": len(exc.problems)}, principal, exc.as_errors())
    except Conflict as exc:  # the API's 409, in a sentence
        return error_page(request, 409, _("This was not done: %(reason)s.")
                          % {"reason": plain(str(exc))}, principal)
    except TransitionError as exc:  # the API's 403 or 409, with the rule that refused it
        return error_page(request, 403 if exc.forbidden else 409,
                          _("This was not done: %(reason)s.") % {"reason": plain(str(exc))},
                          principal)


__all__ = ["env", "error_page", "guarded", "home_of", "page"]
