"""The policy header on every page, and the page's own scripts carrying its nonce."""

from __future__ import annotations

import re

import pytest

from tests import factories


@pytest.mark.parametrize("path", ["/login/", "/", "/incidents/", "/actions/review/"])
def test_pages_enforce_a_policy_whose_nonce_their_scripts_carry(client, db, path):
    client.force_login(factories.user("priya"))

    response = client.get(path)

    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    scripts = re.findall(r"<script[^>]*>", response.content.decode())
    assert scripts, "every page loads htmx and its own script"
    assert all(f'nonce="{nonce}"' in tag for tag in scripts), scripts


def test_no_template_has_inline_handlers_or_eval_filters():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    offenders = [
        f"{path.relative_to(templates)}: {match.group(0)}"
        for path in templates.rglob("*.html")
        if "email" not in path.name and "summary" not in path.name
        for match in re.finditer(
            r"""\son[a-z]+=|hx-on|javascript:|hx-trigger="[^"]*\[|<script(?![^>]*\bsrc=)|\sstyle=""",
            path.read_text(),
        )
    ]
    assert offenders == []
