"""Hardened parsing of uploaded BPMN/DMN XML.

Definitions come from people over HTTP, so the parser refuses anything a process model never
needs: DOCTYPE declarations (and with them entity expansion bombs and external entities),
network access, and files over a size limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .errors import DefinitionError, DefinitionProblem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
DEFAULT_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class DefinitionXml:
    """A parsed definition file: its name, kind ('bpmn' or 'dmn') and root element."""

    name: str
    kind: str
    root: etree._Element


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_definition(name: str, content: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> DefinitionXml:
    """Parse one BPMN or DMN file safely.

    Raises DefinitionError naming the file (and line) when the file is too large, is not
    well-formed XML, declares a DOCTYPE, or is neither BPMN nor DMN.
    """

    def refuse(message: str, line: int | None = None) -> DefinitionError:
        return DefinitionError([DefinitionProblem(name, message, line=line)])

    if len(content) > max_bytes:
        raise refuse(f"file is {len(content):,} bytes; the limit is {max_bytes:,}")
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise refuse("DOCTYPE and ENTITY declarations are not allowed")
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        raise refuse(f"not well-formed XML: {exc.msg}", exc.lineno) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. hidden in another encoding
        raise refuse("DOCTYPE and ENTITY declarations are not allowed")
    namespace = etree.QName(root).namespace
    if namespace == BPMN_NS:
        return DefinitionXml(name, "bpmn", root)
    if namespace in DMN_NAMESPACES:
        return DefinitionXml(name, "dmn", root)
    raise refuse(f"root element {root.tag!r} is neither BPMN 2.0 nor DMN definitions", root.sourceline)


def element_id_at_line(root: etree._Element, line: int | None) -> str | None:
    """The id of the innermost element that starts on `line` (or encloses it), for error reports."""
    if not line:
        return None
    best = None
    for element in root.iter():
        if not isinstance(element.tag, str) or element.sourceline is None:
            continue
        if element.sourceline > line:
            break
        if element.get("id"):
            best = element.get("id")
    return best
