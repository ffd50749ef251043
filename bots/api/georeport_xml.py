"""GeoReport v2's XML: the same documents as its JSON, in the element names of the spec's examples.

A JSON list becomes a container whose items take the singular element name the spec uses
(``<services><service>…``, ``<service_requests><request>…``, ``<errors><error>…``); None is
an empty element, booleans are ``true``/``false``.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

ITEM_OF = {
    "services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
    "values": "value", "endpoints": "endpoint", "formats": "format",
}


def _fill(element: ET.Element, value: object) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, list):
        item = ITEM_OF.get(element.tag, "item")
        for inner in value:
            _fill(ET.SubElement(element, item), inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def render(root: str, document: object) -> bytes:
    """``render("services", [{...}])`` → ``<?xml …?><services><service>…</service></services>``."""
    element = ET.Element(root)
    _fill(element, document)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)
