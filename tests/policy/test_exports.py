"""`callrec.policy` is the one name the shell imports: it exports every value the policy defines."""

from __future__ import annotations

from callrec import policy
from callrec.policy import commands, events, state, table


def test_the_package_exports_every_public_name_of_its_modules() -> None:
    defined = {*state.__all__, *events.__all__, *commands.__all__}
    assert defined | {"IGNORED", "TRANSITIONS", "decide", "initial_state"} == set(policy.__all__)
    assert all(getattr(policy, name) is not None for name in policy.__all__)
    assert policy.decide is table.decide
