"""The web interface: server-rendered pages on top of the same API functions and roles.

Pages call the API's route functions (``api.routers.*``) with the signed-in principal, so every
role rule is the API's own. The browser holds a server-side session id (``api.web.session``),
never the token.
"""

from api.web.pages import router

__all__ = ["router"]
