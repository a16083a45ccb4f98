"""The OpenAPI schema at /api/schema/ is true: it is valid OpenAPI 3, marks what may be null,
describes GeoJSON pages as FeatureCollections of Features, lists every error an operation can
answer with the error body, and what the running API answers conforms to it.

A handheld's generated client (openapi-generator and the like) throws on a null it was not
told about, on a page of FeatureCollections, and on an error status the schema never named."""

import uuid

import pytest
import requests
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from accounts.models import Role
from tests.factories import make_manhole_item, make_user

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def properties(schema, component) -> dict:
    return schema["components"]["schemas"][component]["properties"]


def test_the_schema_is_valid_openapi_3(schema):
    validate(schema)  # raises on the first error


def test_every_operation_lists_its_error_answers_with_the_error_body(schema):
    seen = 0
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400"}
        if operation.get("security") and operation["security"] != [{}]:
            expected.add("401")
        if "{" in path:
            expected.add("404")
        if method in {"post", "put", "patch"} and "requestBody" in operation:
            expected |= {"413", "415"}
        missing = expected - responses.keys()
        assert not missing, f"{method.upper()} {path} omits {sorted(missing)}"
        for code, answer in responses.items():
            if code.startswith("4"):
                body = answer["content"]["application/json"]["schema"]
                assert body == ERROR_REF, f"{method.upper()} {path} {code}"
        seen += 1
    assert seen > 40


def test_the_error_body_is_a_component_naming_code_message_and_fields(schema):
    error = schema["components"]["schemas"]["Error"]
    inner = error["properties"]["error"]
    assert error["required"] == ["error"]
    assert set(inner["required"]) == {"code", "message"}
    fields = inner["properties"]["fields"]
    assert fields["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_conflicts_forbidden_and_lockouts_are_where_the_views_give_them(schema):
    paths = schema["paths"]
    dispatch = paths["/api/v1/cases/{number}/dispatch/"]["post"]["responses"]
    assert {"403", "404", "409"} <= dispatch.keys()
    assert "409" in paths["/api/v1/patrol/shifts/"]["post"]["responses"]
    assert "429" in paths["/api/v1/auth/token/"]["post"]["responses"]
    assert "404" in paths["/api/v1/patrol/inspectors/"]["get"]["responses"]  # no such area
    assert "404" in paths["/api/v1/locate/"]["get"]["responses"]  # a point in no grid
    # Open to anyone: no permission to be refused, but a bad token is still a 401.
    grids = paths["/api/v1/grids/"]["get"]["responses"]
    assert "403" not in grids
    assert "401" in grids


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("CaseDetail", "department"),
        ("CaseDetail", "assignee"),
        ("CaseDetail", "verifier"),
        ("CaseDetail", "master"),
        ("CaseDetail", "grid"),
        ("CaseDetail", "community"),
        ("CaseDetail", "street"),
        ("CaseList", "department"),
        ("CaseList", "grid"),
        ("Transition", "actor"),
        ("Me", "street"),
        ("Me", "district"),
        ("Me", "department"),
        ("LoginUser", "department"),
        ("Item", "department"),
        ("Notification", "case"),
        ("Shift", "device"),
        ("Shift", "ended_at"),
    ],
)
def test_fields_the_models_allow_to_be_null_are_nullable(schema, component, field):
    described = properties(schema, component)[field]
    assert described.get("nullable") is True or any(
        "nullable" in str(part) for part in described.get("allOf", []) + described.get("oneOf", [])
    ), described


@pytest.mark.parametrize("level", ["District", "Street", "Community", "WorkGrid", "Checkpoint"])
def test_a_page_of_geojson_is_a_feature_collection_of_features(schema, level):
    page = properties(schema, f"Paginated{level}List")
    assert page["type"]["$ref"].endswith("GisFeatureCollectionEnum")
    feature = page["features"]["items"]["$ref"].rsplit("/", 1)[1]
    described = properties(schema, feature)
    assert described["type"]["$ref"].endswith("GisFeatureEnum")  # "Feature"
    assert {"geometry", "properties"} <= described.keys()


# --- What the running API answers conforms to the schema -------------------------------------


def seed_api_world(people) -> dict:
    """A case, a shift with points and the personas' tokens on the small test city: the few
    rows the contract tests and the fuzz run need."""
    from accounts.auth import token_issue
    from cases import services as case_services
    from cases.models import Case

    hotline = make_user("hotline", Role.HOTLINE)
    item = make_manhole_item(people)
    centre = people.grid_a.geom.point_on_surface
    case = case_services.case_report(
        by=people.inspector_a,
        item=item,
        lon=centre.x,
        lat=centre.y,
        description="井盖缺失",
        client_uuid=uuid.uuid4(),
    )
    users = {**people.all(), "hotline": hotline}
    tokens = {
        name: token_issue(user=user, device_id=f"pda-{name}").token for name, user in users.items()
    }
    return {"case": Case.objects.get(pk=case.case.pk), "item": item, "tokens": tokens}


def to_schemathesis(response, method: str, url: str) -> schemathesis.Response:
    request = requests.Request(method.upper(), f"http://testserver{url}").prepare()
    return schemathesis.Response(
        status_code=response.status_code,
        headers={key.lower(): [value] for key, value in response.headers.items()},
        content=response.content,
        request=request,
        elapsed=0.0,
        verify=False,
    )


@pytest.fixture
def contract(schema):
    return schemathesis.openapi.from_dict(schema)


def test_what_the_api_answers_conforms_to_the_schema(client, people, contract):
    world = seed_api_world(people)
    number = world["case"].number
    grid = people.grid_a.code
    checkpoint = people.grid_a.checkpoints.first().code
    shift = client.post(
        "/api/v1/patrol/shifts/",
        {"client_uuid": str(uuid.uuid4())},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {world['tokens']['inspector_a']}",
    ).json()["id"]
    reads = [
        "/api/v1/me/",
        "/api/v1/me/devices/",
        "/api/v1/me/notifications/",
        "/api/v1/me/tasks/",
        "/api/v1/categories/",
        "/api/v1/districts/",
        "/api/v1/streets/",
        "/api/v1/communities/",
        "/api/v1/grids/",
        f"/api/v1/grids/{grid}/",
        "/api/v1/checkpoints/",
        f"/api/v1/checkpoints/{checkpoint}/",
        f"/api/v1/locate/?lon={people.grid_a.geom.point_on_surface.x}"
        f"&lat={people.grid_a.geom.point_on_surface.y}",
        "/api/v1/cases/",
        f"/api/v1/cases/{number}/",
        "/api/v1/patrol/shifts/",
        f"/api/v1/patrol/shifts/{shift}/",
        f"/api/v1/patrol/shifts/{shift}/points/",
        f"/api/v1/patrol/shifts/{shift}/report/",
        "/api/v1/patrol/inspectors/",
        "/api/v1/grids/?bbox=1e200,1e200,2e200,2e200",
        "/api/v1/cases/?page_size=0",
        "/api/v1/grids/999999999999999/",
    ]
    writes = [
        ("post", f"/api/v1/cases/{number}/file/", "dispatcher", {"note": "立案"}),
        ("post", f"/api/v1/cases/{number}/close/", "dispatcher", {"note": "太早"}),  # 409
        ("post", f"/api/v1/cases/{number}/dispatch/", "citizen", {}),  # 403 or 404
        ("post", f"/api/v1/cases/{number}/dispatch/", "dispatcher", {"department": "x"}),
        ("post", "/api/v1/auth/token/", None, {"username": "citizen", "password": "no"}),
    ]
    checked = 0
    for persona in [None, *world["tokens"]]:
        auth = {"HTTP_AUTHORIZATION": f"Token {world['tokens'][persona]}"} if persona else {}
        for url in reads:
            response = client.get(url, **auth)
            assert response.status_code < 500, (persona, url)
            path = url.split("?")[0]
            contract.find_operation_by_path("GET", path).validate_response(
                to_schemathesis(response, "get", url)
            )
            checked += 1
    for method, url, persona, body in writes:
        auth = {"HTTP_AUTHORIZATION": f"Token {world['tokens'][persona]}"} if persona else {}
        response = getattr(client, method)(url, body, content_type="application/json", **auth)
        assert response.status_code < 500, (persona, url)
        contract.find_operation_by_path(method.upper(), url).validate_response(
            to_schemathesis(response, method, url)
        )
        checked += 1
    assert checked > 200


def test_an_api_url_no_route_matches_is_a_404_in_the_error_shape(client, db):
    response = client.get("/api/v1/patrol/shifts/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "application/json" not in page["Content-Type"]
