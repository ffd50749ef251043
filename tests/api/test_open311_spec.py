"""Open311 GeoReport v2 as the spec says: every endpoint in XML and JSON, errors included."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
import pytest

BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
LEAK = "3号楼502室天花板漏水，联系电话13800138000"


def _file(api, description: str = LEAK, address: str = "幸福小区3号楼502室") -> str:
    r = api.client().post("/open311/v2/requests.json", data={
        "api_key": api.tokens["wang"], "service_code": "facilities", "description": description,
        "address_string": address, "first_name": "大爷", "last_name": "刘", "phone": "13900139000"})
    assert r.status_code == 200, r.text
    return r.json()[0]["service_request_id"]


def _confirm(api, number: str) -> None:
    assert api.client("wang").post(f"/api/tickets/{number}/transition", json={"action": "confirm"}).status_code == 200


def _xml(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers["content-type"]
    assert response.content.startswith(b"<?xml")
    return ET.fromstring(response.content)


def _as_json(element: ET.Element) -> dict:
    """A spec XML item back into the JSON object's fields (empty elements are null)."""
    return {child.tag: child.text for child in element}


@BOTH_DATABASES
def test_every_endpoint_answers_xml_shaped_like_the_specs_examples_and_json_with_the_same_content(api):
    number = _file(api)
    key = {"api_key": api.tokens["wang"]}
    get = api.client().get

    services = _xml(get("/open311/v2/services.xml"))
    assert services.tag == "services" and {c.tag for c in services} == {"service"}
    assert [_as_json(s) for s in services] == [
        {**s, "metadata": "false"} for s in get("/open311/v2/services.json").json()]

    definition = _xml(get("/open311/v2/services/neighbor.xml"))
    assert definition.tag == "service_definition" and definition.findtext("service_code") == "neighbor"
    assert definition.find("attributes") is not None

    listed = _xml(get("/open311/v2/requests.xml", params=key))
    assert listed.tag == "service_requests" and [r.tag for r in listed] == ["request"]
    as_json = get("/open311/v2/requests.json", params=key).json()[0]
    assert _as_json(listed[0]) == {k: (None if v is None else str(v)) for k, v in as_json.items()}

    one = _xml(get(f"/open311/v2/requests/{number}.xml", params=key))
    assert one.tag == "service_requests" and one.find("request/service_request_id").text == number
    assert one.find("request/status").text == "open" and one.find("request/lat").text is None

    posted = _xml(api.client().post("/open311/v2/requests.xml", data={
        **key, "service_code": "sanitation", "description": "五号楼垃圾桶满了没人清运", "address_string": "幸福小区"}))
    assert posted.tag == "service_requests" and posted.find("request/service_request_id").text.isdecimal()
    assert posted.find("request/account_id") is not None

    discovery = _xml(get("/open311/v2/discovery.xml"))
    assert discovery.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in discovery.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]
    assert get("/open311/v2/discovery.json").json()["endpoints"][0]["url"].endswith("/open311/v2")


def test_errors_come_in_the_format_asked_for(api):
    errors = _xml(r := api.client().get("/open311/v2/requests.xml"))
    assert r.status_code == 401 and errors.tag == "errors"
    assert errors.findtext("error/code") == "401" and "api_key" in errors.findtext("error/description")
    r = api.client().get("/open311/v2/services/nonsense.xml")
    assert r.status_code == 404 and _xml(r).findtext("error/code") == "404"
    assert api.client().get("/open311/v2/services/nonsense.json").json()[0]["code"] == 404
    assert api.client().get("/open311/v2/services.yaml").status_code == 404
