"""The facilitator's dashboard right after a member's edit: it answers from the analyses' last
result while their refresh runs in the background, never waiting for the refresh (on a
10,000-member network a refresh takes minutes: the dashboard waited for it through a route
function called without ``fresh=False``, whose default is a truthy ``Query`` object)."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from tests.conftest import small_document

pytestmark = pytest.mark.database


def test_the_dashboard_after_an_edit_does_not_wait_for_the_analyses(db: Database) -> None:
    nid = f"edit-{uuid.uuid4().hex[:10]}"
    document = small_document(nid)
    import_network(db, document)
    token = issue_token(db, "facilitator", nid, None)[0]
    app = create_app(ApiSettings(admin_token=None, first_fit_wait=120), database=db)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as browser:
        form = browser.get("/signin").text
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        assert browser.post("/signin", data={**hidden, "token": token}).status_code == 303
        assert browser.get(f"/n/{nid}/dashboard").status_code == 200  # every analysis once

        # From now on a refresh of the analyses never ends until the test lets it.
        analyses = app.state.analyses
        release = threading.Event()
        build = analyses._build_now

        def held(*args: Any) -> Any:
            release.wait(120)
            return build(*args)

        analyses._build_now = held
        member = dict(document["members"][0], description="Edited while analyses are stale.")
        edited = browser.put(f"/networks/{nid}/members/{member['id']}", json=member,
                             headers={"Authorization": f"Bearer {token}"})
        assert edited.status_code == 200, edited.text
        answers: list[Any] = []
        reader = threading.Thread(target=lambda: answers.append(
            browser.get(f"/n/{nid}/dashboard")), daemon=True)
        reader.start()
        reader.join(60)
        waited = reader.is_alive()
        release.set()
        reader.join(120)
        assert not waited, "the dashboard waited for the analyses' refresh"
        assert answers and answers[0].status_code == 200
