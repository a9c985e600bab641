"""Array replies read a slice at a time: a PropertyWare listing as plain dicts without its whole lxml tree
and zeep objects alive at once (tens of MB for a large organisation's ``getAllPortfolios``)."""

from __future__ import annotations

import io
from typing import Any

from lxml import etree
from zeep import plugins

from . import convert

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_BODY = f"{{{SOAP_ENV}}}Body"
#: items handed to zeep at a time
CHUNK = 100


def is_array_reply(operation: Any) -> bool:
    """Whether the operation answers with one part holding a SOAP-encoded array."""
    output = getattr(operation, "output", None)
    body = getattr(output, "body", None)
    if body is None:
        return False
    parts = body.type.elements
    if len(parts) != 1:
        return False
    part_type = parts[0][1].type
    return getattr(part_type, "_array_type", None) is not None


def read_array_reply(client: Any, binding: Any, operation: Any, response: Any) -> Any:
    """The reply of an array operation (``is_array_reply``) as ``convert.plain`` would give it.

    The envelope is parsed incrementally; every ``CHUNK`` complete items of the array move into an envelope
    of their own, which goes through zeep's own reply processing (the client's ingress plugins, then the
    operation's deserialisation). Anything else is left to zeep whole: a reply that is not HTTP 200, SOAP
    header entries, a Fault, a body that does not start with the operation's response (ResponseCheckPlugin
    refuses it there), multiRef/href bodies (the referenced elements follow the array), and no items."""
    content = response.content
    if response.status_code != 200 or b"href=" in content or not _is_xml(response):
        return _whole(client, binding, operation, response)
    settings = client.settings
    events = etree.iterparse(
        io.BytesIO(content),
        events=("start", "end"),
        remove_comments=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        recover=not settings.strict,
        huge_tree=settings.xml_huge_tree,
    )
    expected = f"{operation.name}Response"
    path: list = []  # Envelope, Body, the response element, the array: open while items stream
    ready: list = []  # items parsed whole, not yet handed to zeep
    rows: list = []
    depth = 0
    for event, element in events:
        if event == "start":
            depth += 1
            if depth == 1:
                path = [element]
            elif depth == 2 and element.tag == _BODY:
                header = element.getprevious()
                if header is not None and len(header):
                    return _whole(client, binding, operation, response)  # header entries: zeep's to read
                path = path[:1] + [element]
            elif depth == 3 and len(path) == 2:
                if etree.QName(element).localname != expected:
                    return _whole(client, binding, operation, response)  # a Fault, or not our answer
                path.append(element)
            elif depth == 4 and len(path) == 3:
                path.append(element)
            continue
        depth -= 1
        if depth == 4 and len(path) == 4 and element.getparent() is path[3]:
            # The parser reads ahead: later items may already be in the tree, half built. Only this
            # one is complete, so it is what moves on.
            ready.append(element)
            if len(ready) >= CHUNK:
                rows.extend(_slice(client, operation, path, ready, response))
                ready = []
    if not rows and not ready:
        return _whole(client, binding, operation, response)
    if ready:
        rows.extend(_slice(client, operation, path, ready, response))
    return rows


def _slice(client, operation, path: list, items: list, response) -> list:
    """``items``, moved out of the reply into an envelope of their own (the same elements, attributes
    and namespaces down to the array), through zeep's ingress plugins and the operation's reply."""
    top = etree.Element(path[0].tag, attrib=dict(path[0].attrib), nsmap=path[0].nsmap)
    parent = top
    for element in path[1:]:
        parent = etree.SubElement(parent, element.tag, attrib=dict(element.attrib), nsmap=element.nsmap)
    parent.extend(items)
    envelope, _ = plugins.apply_ingress(client, top, response.headers, operation)
    value = convert.plain(operation.process_reply(envelope))
    return value if isinstance(value, list) else [] if value is None else [value]


def _whole(client, binding, operation, response) -> Any:
    return convert.plain(binding.process_reply(client, operation, response))


def _is_xml(response) -> bool:
    content_type = (response.headers.get("Content-Type") or "text/xml").split(";")[0].strip().lower()
    return content_type != "multipart/related"
