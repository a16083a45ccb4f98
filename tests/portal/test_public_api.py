"""What the public API answers conforms to its OpenAPI schema, errors included."""

import pytest
import schemathesis
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from tests.portal.publicside import add_photo, follow, move, report
from tests.test_openapi import to_schemathesis

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def contract():
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


def test_the_public_api_answers_as_its_schema_says(client, world, contract):
    case, reporter = report(world)
    other = follow(case)
    add_photo(case, world.people.dispatcher)
    move(case, world.people, until="close")
    token = reporter.token
    calls = [
        ("get", reverse("public-case", args=[case.number]), None),
        ("get", reverse("public-case", args=["440306-20260101-000001"]), None),  # 404
        ("get", reverse("public-near") + "?bbox=99,29,101,31", None),
        ("get", reverse("public-near") + "?bbox=nonsense", None),  # 400
        ("get", reverse("public-track", args=[token]), None),
        ("post", reverse("public-track-reopen", args=[token]), {"reason": "早了"}),  # 409
        ("post", reverse("public-track-rate", args=[other.token]), {"satisfaction": "fair"}),
        ("post", reverse("public-track-rate", args=[token]), {"satisfaction": "bad"}),  # 400
        ("post", reverse("public-track-rate", args=[token]), {"satisfaction": "unsatisfied"}),
        ("post", reverse("public-track-reopen", args=[token]), {"reason": "没修好"}),
        ("post", reverse("public-track-comment", args=[token]), {"text": "谢谢"}),
        ("post", reverse("public-track-updates", args=[token]), {"notify": False}),
    ]
    statuses = []
    for method, url, body in calls:
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, body, content_type="application/json")
        assert response.status_code < 500, url
        statuses.append(response.status_code)
        path = url.split("?")[0]
        contract.find_operation_by_path(method.upper(), path).validate_response(
            to_schemathesis(response, method, url)
        )
    assert statuses == [200, 404, 200, 400, 200, 409, 403, 400, 200, 200, 201, 200]
