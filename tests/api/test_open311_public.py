"""LINLI_OPEN311_PUBLIC: anyone reads confirmed requests (masked, placed by community), nobody writes
without a key; a published client library (``georeport`` from PyPI) reads this server over real HTTP."""

from __future__ import annotations

import pytest
from georeport import GeoReport

from tests.api.test_open311_spec import BOTH_DATABASES, LEAK, _confirm, _file, _xml


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"open311_public": True})


@BOTH_DATABASES
def test_public_mode_lets_anyone_read_confirmed_requests_masked_and_placed_by_community_but_not_write(api):
    number = _file(api)
    draft = _file(api, "楼道灯坏了好几天", "幸福小区1号楼")  # pending: not shown until a worker confirms it
    assert api.client().get("/open311/v2/requests.json").json() == []
    _confirm(api, number)
    (item,) = api.client().get("/open311/v2/requests.json").json()
    assert item["service_request_id"] == number
    assert item["description"] == "3号楼502室天花板漏水，联系电话***********"  # no digit of the number is shown
    assert item["address"] == "和平街道幸福社区"  # not 幸福小区3号楼502室
    assert item["status_notes"] == "已受理" and item["lat"] is None
    text = api.client().get(f"/open311/v2/requests/{number}.xml").text
    assert "13800138000" not in text and "13900139000" not in text and "刘" not in text and "502室" not in text.split("<address>")[1]
    assert api.client().get(f"/open311/v2/requests/{draft}.json").status_code == 404
    # with a key, the key's own view: full text and address
    keyed = api.client().get(f"/open311/v2/requests/{number}.json", params={"api_key": api.tokens["wang"]}).json()[0]
    assert keyed["description"] == LEAK and keyed["address"] == "幸福小区3号楼502室"
    assert api.client().get("/open311/v2/requests.json", params={"api_key": "wrong"}).status_code == 401
    r = api.client().post("/open311/v2/requests.xml", data={"service_code": "facilities", "description": "x", "address_string": "幸福小区"})
    assert r.status_code == 401 and _xml(r).findtext("error/code") == "401"


@BOTH_DATABASES
@pytest.mark.parametrize("output_format", ["xml", "json"])
def test_the_georeport_client_library_lists_services_and_reads_requests(api, output_format):
    number = _file(api)
    _confirm(api, number)
    client = GeoReport(api.url + "/open311/v2", output_format=output_format)
    services = client.get_service_list()
    assert {s["service_code"] for s in services} >= {"facilities", "neighbor", "sanitation"}
    assert client.get_service_definition("facilities")["service_code"] == "facilities"
    listed = client.get_service_requests(status="open")
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict gives one dict for one element
    assert [r["service_request_id"] for r in listed] == [number]
    one = client.get_service_request(number)
    assert one["status"] == "open" and one["address"] == "和平街道幸福社区"
    assert one["description"].endswith("联系电话***********")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_public_reads_show_no_names_typed_into_the_description_nor_any_phone_number(api):
    typed = "张阿姨说3号楼楼道灯坏了，王师傅来看过没修好，李建国电话 138 0013 8000，老张也知道"
    number = _file(api, typed, "幸福小区3号楼")
    _confirm(api, number)
    for fmt in ("json", "xml"):
        for path in ("/open311/v2/requests", f"/open311/v2/requests/{number}"):
            text = api.client().get(f"{path}.{fmt}").text
            for private in ("张阿姨", "王师傅", "李建国", "老张", "138", "8000"):
                assert private not in text, (path, fmt, private)
            assert "某阿姨" in text and "某师傅" in text and "楼道灯坏了" in text  # what happened is still readable
    keyed = api.client().get(f"/open311/v2/requests/{number}.json", params={"api_key": api.tokens["wang"]}).json()[0]
    assert keyed["description"] == typed  # staff with a key read what was written
