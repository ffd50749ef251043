"""Open311 GeoReport v2 over real HTTP: the spec's field names and types, api_key, status mapping, errors."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

# GeoReport v2: the fields of a service and of a service request (GET requests / GET request).
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
    "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
    "lat", "long", "media_url",
}
ISO_WITH_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$")


def _check_request(item: dict) -> None:
    assert set(item) == REQUEST_FIELDS
    assert isinstance(item["service_request_id"], str) and item["status"] in ("open", "closed")
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert item[name] is None or ISO_WITH_ZONE.match(item[name]), (name, item[name])
        if item[name]:
            assert datetime.fromisoformat(item[name]).tzinfo is not None


def _post(api, token: str | None, **form) -> tuple[int, object]:
    data = {"service_code": "facilities", "description": "小区门口的井盖丢了，晚上很危险", "address_string": "幸福小区东门", **form}
    if token:
        data["api_key"] = api.tokens[token]
    r = api.client().post("/open311/v2/requests.json", data=data)
    return r.status_code, r.json()


def test_services_are_our_request_categories(api):
    services = api.client().get("/open311/v2/services.json").json()
    assert all(set(s) == SERVICE_FIELDS for s in services)
    by_code = {s["service_code"]: s for s in services}
    assert "chatter" not in by_code and len(by_code) == 14
    assert by_code["neighbor"]["service_name"] == "邻里纠纷" and by_code["neighbor"]["type"] == "realtime"
    assert by_code["neighbor"]["metadata"] is False
    assert api.client().get("/open311/v2/services/neighbor.json").json() == {"service_code": "neighbor", "attributes": []}


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_file_and_read_a_request(api):
    status, body = _post(api, "wang", first_name="大爷", last_name="刘", phone="13800138000")
    assert status == 200, body
    assert set(body[0]) == {"service_request_id", "service_notice", "account_id"}
    number = body[0]["service_request_id"]
    one = api.client().get(f"/open311/v2/requests/{number}.json", params={"api_key": api.tokens["wang"]}).json()
    assert isinstance(one, list) and len(one) == 1
    item = one[0]
    _check_request(item)
    assert item["status"] == "open" and item["status_notes"] == "待确认"
    assert item["service_code"] == "facilities" and item["service_name"] == "市政设施"
    assert item["address"] == "幸福小区东门" and item["expected_datetime"] is not None
    assert item["agency_responsible"]  # the routing table's department

    wang = api.client("wang")
    wang.post(f"/api/tickets/{number}/transition", json={"action": "resolve", "note": "井盖已补上"})
    listed = api.client().get("/open311/v2/requests.json", params={"api_key": api.tokens["wang"], "status": "closed"}).json()
    assert [i["service_request_id"] for i in listed] == [number]
    _check_request(listed[0])
    assert listed[0]["status"] == "closed" and listed[0]["status_notes"] == "已办结：井盖已补上"
    assert api.client().get("/open311/v2/requests.json", params={"api_key": api.tokens["wang"], "status": "open"}).json() == []


def test_requests_filter_by_id_code_and_dates(api):
    first = _post(api, "wang")[1][0]["service_request_id"]
    second = _post(api, "wang", service_code="sanitation", description="五号楼垃圾桶满了没人清运")[1][0]["service_request_id"]
    key = {"api_key": api.tokens["wang"]}
    get = lambda **p: [i["service_request_id"] for i in api.client().get("/open311/v2/requests.json", params={**key, **p}).json()]  # noqa: E731
    assert sorted(get()) == sorted([first, second])
    assert get(service_request_id=f"{second}") == [second]
    assert get(service_code="sanitation") == [second]
    assert get(start_date="2000-01-01T00:00:00Z", end_date="2000-01-02T00:00:00+08:00") == []
    r = api.client().get("/open311/v2/requests.json", params={**key, "start_date": "last week"})
    assert r.status_code == 400 and r.json()[0]["code"] == 400 and "ISO 8601" in r.json()[0]["description"]


def test_api_key_is_required_and_scoped(api):
    status, body = _post(api, None)
    assert status == 401 and body == [{"code": 401, "description": "api_key is missing or not valid"}]
    status, body = _post(api, "wang-read")
    assert status == 403 and body[0]["code"] == 403
    r = api.client().get("/open311/v2/requests.json")
    assert r.status_code == 401 and r.json()[0]["code"] == 401
    number = _post(api, "wang")[1][0]["service_request_id"]
    r = api.client().get(f"/open311/v2/requests/{number}.json", params={"api_key": api.tokens["zhao"]})
    assert r.status_code == 404  # another grid's request does not exist for this key
    assert api.client().get("/open311/v2/requests.json", params={"api_key": api.tokens["zhao"]}).json() == []


def test_bad_posts_get_open311_errors(api):
    status, body = _post(api, "wang", service_code="nonsense")
    assert status == 400 and "service_code" in body[0]["description"]
    status, body = _post(api, "wang", address_string="")
    assert status == 400 and "location" in body[0]["description"]
    status, body = _post(api, "wang", description="  ")
    assert status == 400 and "description" in body[0]["description"]
    r = api.client().get("/open311/v2/requests/abc.json", params={"api_key": api.tokens["wang"]})
    assert r.status_code == 404 and r.json()[0]["code"] == 404


def test_request_ids_that_look_numeric_but_are_not_decimal_are_not_found(api):
    # "²" and "①" pass str.isdigit() but int() refuses them: found by the OpenAPI fuzzer as a 500
    for odd in ("²", "①", "1²"):
        r = api.client().get(f"/open311/v2/requests/{odd}.json", params={"api_key": api.tokens["wang"]})
        assert r.status_code == 404, (odd, r.status_code)
    r = api.client().get("/open311/v2/requests.json", params={"api_key": api.tokens["wang"], "service_request_id": "²,①"})
    assert r.status_code == 200 and r.json() == []
