"""Strict structural schemas for the two custom resources the adapter writes.

kubernetes-validate ships the schemas of built-in kinds only, and no installed package
ships the CustomResourceDefinitions of the Gateway API or the Prometheus Operator (the
CRDs cannot be downloaded here). So these JSON Schemas cover exactly the fields the
adapter emits, with the types, bounds and patterns of the official references:
``gateway.networking.k8s.io/v1`` HTTPRoute (standard channel: ParentReference,
HTTPBackendRef, at most 16 rules and 16 backendRefs each, weights 0..1000000, a port
required for a Service backend) and ``monitoring.coreos.com/v1`` PodMonitor (a required
label ``selector``, ``podMetricsEndpoints`` with a named ``port`` and a ``path``, and
``podTargetLabels``). ``additionalProperties: false`` everywhere: a field we start to
emit without adding it here fails the tests, and a misspelt one too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# A label key: an optional DNS-subdomain prefix and "/", then a name of at most 63.
LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"


def _closed(properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": required,
        "additionalProperties": False,
    }


_LABELS = {
    "type": "object",
    "propertyNames": {"pattern": LABEL_KEY, "maxLength": 316},
    "additionalProperties": {"type": "string", "pattern": LABEL_VALUE},
}


def _metadata() -> dict[str, Any]:
    return _closed(
        {
            "name": {"type": "string", "pattern": DNS_SUBDOMAIN, "maxLength": 253},
            "namespace": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
            "labels": _LABELS,
        },
        ["name", "namespace"],
    )


def _object(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _closed(
        {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _metadata(),
            "spec": spec,
        },
        ["apiVersion", "kind", "metadata", "spec"],
    )


_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}

HTTP_ROUTE = _object(
    "gateway.networking.k8s.io/v1",
    "HTTPRoute",
    _closed(
        {
            "parentRefs": {
                "type": "array",
                "maxItems": 32,
                "items": _closed(
                    {
                        "name": {"type": "string", "minLength": 1, "maxLength": 253},
                        "namespace": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 63,
                            "pattern": DNS_LABEL,
                        },
                    },
                    ["name"],
                ),
            },
            "rules": {
                "type": "array",
                "maxItems": 16,
                "items": _closed(
                    {
                        "backendRefs": {
                            "type": "array",
                            "maxItems": 16,
                            "items": _closed(
                                {
                                    "name": {"type": "string", "minLength": 1, "maxLength": 253},
                                    # kind defaults to Service, whose reference needs a port
                                    "port": _PORT,
                                    "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
                                },
                                ["name", "port"],
                            ),
                        }
                    },
                    [],
                ),
            },
        },
        ["parentRefs", "rules"],
    ),
)

POD_MONITOR = _object(
    "monitoring.coreos.com/v1",
    "PodMonitor",
    _closed(
        {
            "selector": _closed({"matchLabels": {**_LABELS, "minProperties": 1}}, ["matchLabels"]),
            "podMetricsEndpoints": {
                "type": "array",
                "minItems": 1,
                "items": _closed(
                    {
                        "port": {"type": "string", "minLength": 1, "pattern": DNS_LABEL},
                        "path": {"type": "string", "pattern": "^/"},
                    },
                    ["port"],
                ),
            },
            "podTargetLabels": {"type": "array", "items": {"type": "string", "pattern": LABEL_KEY}},
        },
        ["selector", "podMetricsEndpoints"],
    ),
)

SCHEMAS = {"HTTPRoute": HTTP_ROUTE, "PodMonitor": POD_MONITOR}


def validate_custom(obj: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``obj`` fits its kind's schema."""
    schema = SCHEMAS[obj["kind"]]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(obj)
