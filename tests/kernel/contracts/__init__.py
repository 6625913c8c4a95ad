"""Contract suites that every adapter's test module subclasses.

These modules are not test modules themselves, so pytest would not rewrite their asserts; asking
for it here (before the submodules are imported) keeps the detailed failure messages.
"""

import pytest

pytest.register_assert_rewrite(
    "tests.kernel.contracts.eventstore", "tests.kernel.contracts.subscriptions"
)
