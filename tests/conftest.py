"""Suite-wide fixtures. Scenario tests take ``engine`` and run on every engine."""

from __future__ import annotations

import pytest

from tests.utils.platform import Engine


@pytest.fixture(params=["embedded", pytest.param("distributed", marks=pytest.mark.distributed)])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == "embedded":
        return Engine("embedded")
    # Only a distributed test asks for the servers, so an embedded run starts none.
    postgres = request.getfixturevalue("postgres_server")
    kafka = request.getfixturevalue("kafka_server")
    return Engine("distributed", postgres.url, kafka.bootstrap)


from tests.utils.servers import kafka_server, postgres_server  # noqa: E402, F401  (session fixtures)
