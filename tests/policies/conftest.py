from __future__ import annotations

import pytest

from tests.policies.helpers import POLICY_DIR, SHIPPED


@pytest.fixture(scope="session")
def shipped():
    """The shipped policies, compiled once for the whole session."""
    from refunddesk.policies.engine import load_policy

    return {name: load_policy(POLICY_DIR / f"{name}.yaml") for name in SHIPPED}
