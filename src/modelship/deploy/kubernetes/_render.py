"""The Kubernetes objects a deployment is made of, as plain dicts: what would be applied.

Per slot (``blue``, ``green``): a Deployment ``<app>-<slot>`` running ``modelship serve``
and a Service ``<app>-<slot>`` selecting exactly that slot's pods of that version (its
EndpointSlices say when the slot can take traffic, and the API server's services proxy
reaches its ``/health`` through it). Per app: the Service ``<app>`` that clients call,
whose selector is switched between slots (or, with ``traffic="httproute"``, a Gateway
API HTTPRoute ``<app>`` whose backend weights split traffic between the slot Services),
and optionally a PodMonitor. Nothing here talks to a cluster.
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import re
import reprlib
from collections.abc import Mapping
from typing import Any

import attrs

from modelship._names import check_model_name
from modelship.deploy._spec import Container, DeploymentSpec
from modelship.deploy.kubernetes._redact import redact
from modelship.deploy.serve._config import FINAL_FLUSH_SECONDS
from modelship.errors import ConfigError, InvalidName, MissingDependency

__all__ = [
    "LABEL_INSTANCE",
    "LABEL_MODEL",
    "LABEL_SLOT",
    "LABEL_VERSION",
    "MANAGER",
    "SLOTS",
    "KubeOptions",
    "app_service",
    "http_route",
    "render",
    "slot_objects",
    "to_yaml",
]

MANAGER = "modelship"
"""The field manager of every server-side apply the adapter sends."""

LABEL_INSTANCE = "app.kubernetes.io/instance"
"""The label naming the app an object belongs to (checked before a write takes one over)."""
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
"""The label naming the tool that manages an object: :data:`MANAGER` on every object of
ours. Helm (and others) also label their objects ``app.kubernetes.io/instance=<release>``,
so the instance label alone does not make an object, or a pod, modelship's."""
LABEL_COMPONENT = "app.kubernetes.io/component"
COMPONENT = "model-server"
LABEL_MODEL = "modelship.io/model"
LABEL_VERSION = "modelship.io/version"
LABEL_SLOT = "modelship.io/slot"
LABEL_TRAFFIC_OFF = "modelship.io/no-traffic"
ANNOTATION_MODEL = "modelship.io/model-name"
ANNOTATION_VERSION = "modelship.io/model-version"
ANNOTATION_REPLICAS = "modelship.io/replicas"
ANNOTATION_WEIGHTS = "modelship.io/weights"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Text that every YAML reader reads back as text when written plain: a letter, '_' or '/'
# first, then no space, quote or flow character, and not one of YAML 1.1's words.
_PLAIN_TEXT = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:-]*")
_YAML_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", ".nan", ".inf"}
)
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
TRAFFIC_MODES = ("service", "httproute")
SLOTS = ("blue", "green")
"""The slots a Kubernetes app has. Their names are appended to the app's (``<app>-blue``),
so the set is suffix-free ("-blue" and "-green": neither ends the other) and an app name
may end in neither: then no object name of one app can be an object name of another
(``<A>-blue`` equals ``<B>-blue`` only if A is B, and ``<A>`` is never ``<B>-blue``)."""
PRE_STOP_SECONDS = 5  # endpoint removal reaches kube-proxy and ingresses in a few seconds

CONTAINER_SECURITY_CONTEXT: Mapping[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
"""Every container's ``securityContext`` unless the spec's says otherwise (its keys win):
what Pod Security "restricted" asks that no ordinary model server needs. ``runAsNonRoot``
and ``readOnlyRootFilesystem`` are left to the spec (an image running as root, or writing
outside its volumes, would stop starting). ``allowPrivilegeEscalation: false`` is left out
of a container the spec makes privileged or gives ``CAP_SYS_ADMIN`` (the API server
refuses the two together)."""

POD_SECURITY_CONTEXT: Mapping[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
"""The pod's ``securityContext`` unless the spec's ``podSecurityContext`` says otherwise:
the seccomp profile is set for the pod, so a profile the spec gives there is not
overridden by a container default (a container's own profile wins over the pod's)."""


def _escalates(context: Mapping[str, Any]) -> bool:
    """Whether a container with this ``securityContext`` must be allowed privilege
    escalation: privileged, or adding ``SYS_ADMIN`` (Kubernetes' validation refuses
    ``allowPrivilegeEscalation: false`` beside either)."""
    added = (context.get("capabilities") or {}).get("add") or []
    names = {str(name).upper().removeprefix("CAP_") for name in added}
    return context.get("privileged") is True or "SYS_ADMIN" in names


TMP_VOLUME = "tmp"
"""The ``emptyDir`` volume mounted at ``/tmp`` of the server's container when its root
filesystem is read-only (``readOnlyRootFilesystem: true``): loading writes the artifact
there while its digest is checked."""


def _merged(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` with ``given`` over them: a mapping in both is merged the same way, any
    other value of ``given`` (a list too) replaces the default.

    Examples
    --------
    >>> _merged({"capabilities": {"drop": ["ALL"]}, "a": 1},
    ...         {"capabilities": {"add": ["NET_BIND_SERVICE"]}, "a": 2})
    {'capabilities': {'drop': ['ALL'], 'add': ['NET_BIND_SERVICE']}, 'a': 2}
    """
    out = copy.deepcopy(dict(defaults))
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _dns_label(what: str, value: Any, limit: int = 63) -> str:
    if not isinstance(value, str) or len(value) > limit or not _DNS_LABEL.fullmatch(value):
        raise ConfigError(
            f"{what} must be a DNS label (lower-case letters, digits and '-', at most {limit} "
            f"characters, starting and ending with a letter or digit), got {value!r}"
        )
    return value


def _check_app(app: str) -> None:
    """Refuse an app name that would name an invalid object or another app's objects."""
    try:
        _dns_label("app", app, limit=50)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (--app on the command line)") from None
    if not app[0].isalpha():
        # Services are named <app> and <app>-<slot>, and a Service's name is a
        # DNS-1035 label: the API server refuses one that starts with a digit.
        raise ConfigError(
            f"app must start with a letter (it names the Services), got {app!r}; "
            f"pass app='m-{app}' or another name (--app on the command line)"
        )
    for slot in SLOTS:
        if app.endswith(f"-{slot}"):
            # <app>-<slot> names the slots' objects: app "fraud-blue" would be the
            # name of app "fraud"'s blue slot, and a forced apply would take it over.
            raise ConfigError(
                f"app {app!r} ends in '-{slot}', the suffix of a slot's objects: "
                f"app {app[: -len(slot) - 1]!r} names its {slot} slot "
                f"{app!r}, so the two apps' objects would collide; pick an app name "
                f"that ends in none of {[f'-{x}' for x in SLOTS]} (--app on the "
                "command line)"
            )


def label_value(what: str, value: object) -> str:
    """``value`` if Kubernetes accepts it as a label value, else a ConfigError naming it."""
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} cannot be a Kubernetes label value (at most 63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit); rename it"
        )
    return value


def _shown_url(value: object) -> str:
    """``repr`` of the registry URL with its credentials ``<redacted>`` (the pods get it
    whole; ``repr`` reaches logs and tracebacks).

    Examples
    --------
    >>> print(_shown_url("https://ci:s3cret@models.example/r"), _shown_url(None))
    'https://<redacted>@models.example/r' None
    """
    return repr(redact(value)) if isinstance(value, str) else repr(value)


@attrs.frozen
class KubeOptions:
    """How the adapter lays a deployment out in a cluster (shared by render and apply).

    ``app``: names the Service clients call and prefixes every object (at most 50
    characters, starting with a letter, and ending in neither ``-blue`` nor ``-green``:
    those name the slots' objects, so app ``fraud-blue`` would collide with app
    ``fraud``); ``registry_url``: where pods load models from (passed to
    ``modelship serve``); ``image``: used when no spec is given; ``traffic``:
    ``"service"`` (switch a Service's selector; a split is approximated by the ratio of
    replicas) or ``"httproute"`` (exact weights on a Gateway API HTTPRoute attached to
    ``gateway``); ``pod_monitor``: also a Prometheus Operator PodMonitor;
    ``scrape_annotations``: ``prometheus.io/*`` annotations on pods.

    Examples
    --------
    >>> KubeOptions(app="fraud", registry_url="s3://models").service_port
    80
    >>> KubeOptions(traffic="istio")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: traffic must be one of ('service', 'httproute'), got 'istio'
    """

    namespace: str = "default"
    app: str = "modelship"
    registry_url: str | None = attrs.field(default=None, repr=_shown_url)
    image: str | None = None
    traffic: str = "service"
    gateway: str | None = None
    gateway_namespace: str | None = None
    pod_monitor: bool = False
    scrape_annotations: bool = True
    service_port: int = 80
    graceful_seconds: int = 30

    def __attrs_post_init__(self) -> None:
        _dns_label("namespace", self.namespace)
        _check_app(self.app)
        if self.gateway is not None and (
            not isinstance(self.gateway, str)
            or len(self.gateway) > 253
            or not _DNS_SUBDOMAIN.fullmatch(self.gateway)
        ):
            raise ConfigError(
                "gateway must name a Gateway (lower-case letters, digits, '-' and '.', at "
                f"most 253 characters), got {self.gateway!r}"
            )
        for name in ("registry_url", "image"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{name} must be a non-empty string or None, got {value!r}")
        if self.gateway_namespace is not None:
            _dns_label("gateway_namespace", self.gateway_namespace)
        for name in ("pod_monitor", "scrape_annotations"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name, low, high in (
            ("service_port", 1, 65535),
            (
                "graceful_seconds",
                0,
                2**31 - 1 - PRE_STOP_SECONDS - math.ceil(FINAL_FLUSH_SECONDS),
            ),  # an int32 in the pod
        ):
            value = getattr(self, name)
            if (
                not isinstance(value, numbers.Integral)
                or isinstance(value, bool)
                or not low <= int(value) <= high
            ):
                raise ConfigError(f"{name} must be a whole number in {low}..{high}, got {value!r}")
            object.__setattr__(self, name, int(value))  # a NumPy int as JSON can write it
        if self.traffic not in TRAFFIC_MODES:
            raise ConfigError(f"traffic must be one of {TRAFFIC_MODES}, got {self.traffic!r}")
        if self.traffic == "httproute" and not self.gateway:
            raise ConfigError(
                "traffic='httproute' needs gateway=<name of the Gateway the route attaches to>"
            )

    def slot_name(self, slot: str) -> str:
        """The name of a slot's Deployment and Service: ``<app>-<slot>``.

        Raises
        ------
        ConfigError
            ``slot`` is not one of :data:`SLOTS`.

        Examples
        --------
        >>> KubeOptions(app="fraud").slot_name("green")
        'fraud-green'
        """
        if slot not in SLOTS:
            raise ConfigError(
                f"slot must be one of {SLOTS} (a Kubernetes app has these two), got {slot!r}"
            )
        return f"{self.app}-{slot}"

    def common_labels(self) -> dict[str, str]:
        """Labels on every object of this app."""
        return {
            LABEL_INSTANCE: self.app,
            LABEL_MANAGED_BY: MANAGER,
            LABEL_COMPONENT: COMPONENT,
        }

    def pods_selector(self) -> dict[str, str]:
        """Every pod of this app's slots: the app labels, all three (the instance label
        alone would also select, say, the pods of a Helm release named like the app)."""
        return self.common_labels()

    def slot_selector(self, slot: str) -> dict[str, str]:
        """The (immutable) selector of a slot's Deployment.

        Left as it always was (a Deployment's selector cannot change: an apply changing it
        would be refused on every existing slot); the slot label is modelship's own.
        """
        return {LABEL_INSTANCE: self.app, LABEL_SLOT: slot}


def default_spec(options: KubeOptions) -> DeploymentSpec:
    """The spec used when none is given: one ``model-server`` container of ``image``."""
    if not options.image:
        raise ConfigError(
            "no deployment spec was given and the deployer has no image: pass spec=... or "
            "image='registry.example/model-server:1' (an image that runs modelship serve)"
        )
    return DeploymentSpec(containers=(Container(name="model-server", image=options.image),))


LIVENESS_PATH = "/health"
"""What the liveness probe asks when the spec's health path is a readiness path: the
server answers it from the moment it listens, before and while the model loads."""
READINESS_PATH = "/ready"
"""What the readiness probe asks unless the spec's health path is itself a readiness path."""
# The model's v2 metadata answers 503 until ready too (its outputs are the warm-up's).
_READINESS_PATH = re.compile(r"/ready|/v2/health/ready|/v2/models/[^/]+(/versions/[^/]+)?(/ready)?")


def probe_paths(path: str) -> tuple[str, str]:
    """The readiness and liveness probes' paths for a spec's ``healthcheck.path``.

    A path of the server's that answers 503 until the model is loaded and warmed up
    (``/ready``, ``/v2/health/ready``, ``/v2/models/<name>[/versions/<v>]/ready``, and
    the model's metadata ``/v2/models/<name>[/versions/<v>]``) is
    the readiness probe's, and liveness asks ``/health``: a liveness probe on it would
    have the kubelet restart every pod whose model takes longer to load than the probe
    tolerates, forever. Any other path (``/health``, ``/v2/health/live``, one of your
    own) is the liveness probe's, and readiness asks ``/ready``.

    Examples
    --------
    >>> probe_paths("/ready")
    ('/ready', '/health')
    >>> probe_paths("/v2/health/live")
    ('/ready', '/v2/health/live')
    """
    if _READINESS_PATH.fullmatch(path.split("?", 1)[0]):
        return path, LIVENESS_PATH
    return READINESS_PATH, path


def _probe(path: str, port: int, spec: DeploymentSpec, initial: bool) -> dict[str, Any]:
    # Readiness starts at once (initial=False): a failing readiness probe only keeps
    # the pod out of its Services, so a delay would only hold back a ready pod.
    hc = spec.healthcheck
    # Kubernetes probes take whole seconds; rounding a fraction (0.25 s to 1 s) would
    # silently probe at another pace than the spec's, so a fraction is refused here (the
    # LocalDeployer honours it).
    for key, seconds in (
        ("initialDelaySeconds", hc.initial_delay_seconds),
        ("periodSeconds", hc.period_seconds),
        ("timeoutSeconds", hc.timeout_seconds),
    ):
        if not float(seconds).is_integer():
            raise ConfigError(
                f"deployment.healthcheck.{key}: {seconds:g} s is not a whole number of "
                f"seconds, and Kubernetes probes take whole seconds (it would run as "
                f"{max(1, math.ceil(seconds))} s); give whole seconds for a Kubernetes "
                "deployment"
            )
    return {
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "initialDelaySeconds": math.ceil(hc.initial_delay_seconds) if initial else 0,
        "periodSeconds": max(1, math.ceil(hc.period_seconds)),
        "timeoutSeconds": max(1, math.ceil(hc.timeout_seconds)),
        "failureThreshold": hc.failure_threshold,
        "successThreshold": 1,
    }


def _env_name(container: str, name: str) -> str:
    """``name`` if Kubernetes accepts it as an environment variable's (``IsEnvVarName``:
    the spec's pattern, and neither ``.``, ``..`` nor a name starting with ``..``)."""
    if name in (".", "..") or name.startswith(".."):
        raise ConfigError(
            f"container {container!r}: env {name!r} is not a name Kubernetes accepts (it may "
            "not be '.' or '..' nor start with '..'); rename the variable"
        )
    return name


def check_model(model: object) -> str:
    """``model`` if a label value can hold it and the registry accepts it as a model name
    (:func:`modelship._names.check_model_name`: not empty, no ``..``, ...); else a
    ConfigError. The pods load the model by this name, so one the registry refuses (an
    empty one: ``modelship serve URL '' 3``) would only fail in the cluster."""
    label_value("model name", model)  # refuses non-text too
    try:
        return check_model_name(model)
    except InvalidName as exc:
        raise ConfigError(
            f"{exc}; the pods load the model from the registry by this name: pass the name "
            "it was registered under"
        ) from None


def check_spec(spec: object) -> DeploymentSpec:
    """``spec`` if it is a :class:`~modelship.deploy.DeploymentSpec`, else a ConfigError."""
    if not isinstance(spec, DeploymentSpec):
        raise ConfigError(
            f"spec must be a DeploymentSpec (DeploymentSpec.from_file('deploy.yaml')) or None, "
            f"got {type(spec).__name__} {reprlib.repr(spec)}"
        )
    return spec


def check_version(version: object) -> str:
    """The version as text: a non-empty string, or a whole number; else a ConfigError."""
    if isinstance(version, numbers.Integral) and not isinstance(version, bool):
        return str(int(version))
    if not isinstance(version, str) or not version.strip():
        raise ConfigError(
            f"version must be a registered version as a non-empty string (such as '3'), got "
            f"{reprlib.repr(version)}"
        )
    return version


def options_from(options: Mapping[str, Any]) -> KubeOptions:
    """:class:`KubeOptions` from keyword options; an unknown name is a ConfigError."""
    known = [a.name for a in attrs.fields(KubeOptions)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown}; the options are {known}")
    return KubeOptions(**options)


def _resources(container: Container) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, amounts in (
        ("limits", container.resources.limits),
        ("requests", container.resources.requests),
    ):
        if amounts:
            out[kind] = {name: q.text for name, q in sorted(amounts.items())}
    return out


def _container(  # noqa: PLR0913 - keyword-only fields rendered into one container manifest
    c: Container,
    *,
    first: bool,
    model: str,
    version: str,
    spec: DeploymentSpec,
    registry: str,
    graceful: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "image": c.image}
    port = c.port if c.port is not None else spec.port
    if first:
        hc_port = spec.healthcheck.port if spec.healthcheck.port is not None else port
        out["command"] = ["modelship"]
        out["args"] = [
            "serve", registry, model, version, "--host", "0.0.0.0", "--port", str(port),
            "--graceful-seconds", str(graceful), *c.args,
        ]  # fmt: skip
        out["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        ready_path, live_path = probe_paths(spec.healthcheck.path)
        out["readinessProbe"] = _probe(ready_path, hc_port, spec, initial=False)
        out["livenessProbe"] = _probe(live_path, hc_port, spec, initial=True)
        # Endpoints are removed while SIGTERM is delivered; waiting a little first lets
        # every proxy stop sending before the server stops accepting.
        out["lifecycle"] = {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}}
    else:
        if c.args:
            out["args"] = list(c.args)
        if c.port is not None:
            out["ports"] = [{"name": f"p{c.port}", "containerPort": c.port, "protocol": "TCP"}]
    if c.env:
        # In the spec's order: Kubernetes expands $(NAME) in a value only from the
        # variables listed before it.
        out["env"] = [{"name": _env_name(c.name, k), "value": v} for k, v in c.env.items()]
    resources = _resources(c)
    if resources:
        out["resources"] = resources
    defaults = dict(CONTAINER_SECURITY_CONTEXT)
    if _escalates(c.security_context):
        defaults.pop("allowPrivilegeEscalation")
    out["securityContext"] = _merged(defaults, c.security_context)
    if first and out["securityContext"].get("readOnlyRootFilesystem") is True:
        # modelship serve copies the artifact to a private temporary file while checking
        # its digest (in TMPDIR, else /tmp): a read-only root needs a writable /tmp.
        out["volumeMounts"] = [{"name": TMP_VOLUME, "mountPath": "/tmp"}]
    return out


def slot_objects(  # noqa: PLR0913 - identity of a slot (model, version, spec, slot) plus options and replica count
    model: str,
    version: str,
    spec: DeploymentSpec,
    slot: str,
    options: KubeOptions,
    *,
    replicas: int | None,
) -> list[dict[str, Any]]:
    """A slot's Deployment and Service (and the PodMonitor when asked for).

    ``replicas`` None leaves ``spec.replicas`` out (an autoscaler owns it).
    """
    if options.registry_url is None:
        raise ConfigError(
            "registry_url is not set: the pods need the registry URL to load the model "
            "from (e.g. registry_url='s3://models'); a Kubernetes deployer cannot serve "
            "from a registry only this process can see"
        )
    model = check_model(model)
    name = options.slot_name(slot)
    labels = {
        **options.common_labels(),
        "app.kubernetes.io/name": model,
        "app.kubernetes.io/version": label_value("version", version),
        LABEL_MODEL: model,
        LABEL_VERSION: version,
        LABEL_SLOT: slot,
    }
    annotations = {ANNOTATION_MODEL: model, ANNOTATION_VERSION: version}
    pod_annotations = dict(annotations)
    if options.scrape_annotations:
        pod_annotations.update(
            {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(spec.port),
                "prometheus.io/path": "/metrics",
            }
        )
    containers = [
        _container(
            c,
            first=i == 0,
            model=model,
            version=version,
            spec=spec,
            registry=options.registry_url,
            graceful=options.graceful_seconds,
        )
        for i, c in enumerate(spec.containers)
    ]
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": options.slot_selector(slot)},
        "template": {
            "metadata": {"labels": labels, "annotations": pod_annotations},
            "spec": {
                "containers": containers,
                "terminationGracePeriodSeconds": (
                    options.graceful_seconds + PRE_STOP_SECONDS + math.ceil(FINAL_FLUSH_SECONDS)
                ),
                # modelship serve never calls the Kubernetes API: no token in its pods.
                "automountServiceAccountToken": False,
            },
        },
    }
    pod = deployment_spec["template"]["spec"]
    pod["securityContext"] = _merged(POD_SECURITY_CONTEXT, spec.pod_security_context)
    if "volumeMounts" in containers[0]:
        pod["volumes"] = [{"name": TMP_VOLUME, "emptyDir": {}}]
    if replicas is not None:
        deployment_spec = {"replicas": replicas, **deployment_spec}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": options.namespace,
            "labels": labels,
            "annotations": {**annotations, ANNOTATION_REPLICAS: str(spec.replicas)},
        },
        "spec": deployment_spec,
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": options.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "selector": {**options.slot_selector(slot), LABEL_VERSION: version},
            "ports": [
                {
                    "name": "http",
                    "port": options.service_port,
                    "targetPort": "http",
                    "protocol": "TCP",
                }
            ],
        },
    }
    objects = [deployment, service]
    if options.pod_monitor:
        objects.append(pod_monitor(options))
    return copy.deepcopy(objects)  # no dict shared between objects (or YAML anchors)


def pod_monitor(options: KubeOptions) -> dict[str, Any]:
    """A Prometheus Operator PodMonitor scraping every slot's ``/metrics``."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": options.app,
            "namespace": options.namespace,
            "labels": options.common_labels(),
        },
        "spec": {
            "selector": {"matchLabels": options.pods_selector()},
            "podMetricsEndpoints": [{"port": "http", "path": "/metrics"}],
            "podTargetLabels": [LABEL_MODEL, LABEL_VERSION, LABEL_SLOT],
        },
    }


def app_service(options: KubeOptions, weights: Mapping[str, int]) -> dict[str, Any]:
    """The Service clients call, selecting the slots that ``weights`` send traffic to.

    One slot with traffic: its pods only. Two: the pods of both, by the three app labels
    (the split then follows the ratio of their replicas). None: a selector no pod matches.
    """
    live = sorted(slot for slot, weight in weights.items() if weight > 0)
    selector: dict[str, str] = {LABEL_INSTANCE: options.app}
    if len(live) == 1:
        selector[LABEL_SLOT] = live[0]
    elif not live:
        selector[LABEL_TRAFFIC_OFF] = "true"
    else:
        # No modelship.io label is on both slots' pods: the managed-by and component
        # labels keep out other pods with the app's instance label (a Helm release's).
        selector = options.pods_selector()
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": options.app,
            "namespace": options.namespace,
            "labels": options.common_labels(),
            "annotations": {ANNOTATION_WEIGHTS: json.dumps(dict(sorted(weights.items())))},
        },
        "spec": {
            "selector": selector,
            "ports": [
                {
                    "name": "http",
                    "port": options.service_port,
                    "targetPort": "http",
                    "protocol": "TCP",
                }
            ],
        },
    }


def http_route(options: KubeOptions, weights: Mapping[str, int]) -> dict[str, Any]:
    """The Gateway API HTTPRoute splitting traffic between slot Services by ``weights``.

    Slots without traffic are left out of ``backendRefs`` (none at all: the Gateway
    answers 500, as for all-zero weights), so removing an idle slot never rewrites the
    route and moving traffic is one update of it.
    """
    parent: dict[str, Any] = {"name": options.gateway}
    if options.gateway_namespace:
        parent["namespace"] = options.gateway_namespace
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": options.app,
            "namespace": options.namespace,
            "labels": options.common_labels(),
        },
        "spec": {
            "parentRefs": [parent],
            "rules": [
                {
                    "backendRefs": [
                        {
                            "name": options.slot_name(slot),
                            "port": options.service_port,
                            "weight": weight,
                        }
                        for slot, weight in sorted(weights.items())
                        if weight > 0
                    ]
                }
            ],
        },
    }


def render(
    model_name: str,
    version: str,
    spec: DeploymentSpec | None = None,
    slot: str = "blue",
    **options: Any,
) -> list[dict[str, Any]]:
    """Exactly the objects a deployment of ``version`` into ``slot`` applies, once serving.

    The slot's Deployment and Service, then the Service clients call (or the HTTPRoute)
    as it is after traffic moved to ``slot``, and the PodMonitor when asked for.
    ``options`` are :class:`KubeOptions` fields (``namespace``, ``app``,
    ``registry_url``, ``traffic``, ``gateway``, ...). Review them in CI, or print them
    with :func:`to_yaml`.

    Raises
    ------
    ConfigError
        An unknown option, a spec that is not a DeploymentSpec, a version that is not
        text, a model name the registry would refuse (an empty one), or an option, name
        or label value Kubernetes would refuse.

    Examples
    --------
    >>> from modelship.deploy import Container, DeploymentSpec
    >>> spec = DeploymentSpec(containers=[Container(name="model", image="ai-model:3", port=8080)])
    >>> objs = render("fraud", "3", spec, slot="green", app="fraud", registry_url="s3://models")
    >>> [(o["kind"], o["metadata"]["name"]) for o in objs]
    [('Deployment', 'fraud-green'), ('Service', 'fraud-green'), ('Service', 'fraud')]
    >>> objs[0]["spec"]["template"]["spec"]["containers"][0]["args"][:4]
    ['serve', 's3://models', 'fraud', '3']
    """
    opts = options_from(options)
    version = check_version(version)
    chosen = check_spec(spec) if spec is not None else default_spec(opts)
    objects = slot_objects(model_name, version, chosen, slot, opts, replicas=chosen.replicas)
    monitor = objects[2:]
    route = (
        http_route(opts, {slot: 100})
        if opts.traffic == "httproute"
        else app_service(opts, {slot: 100})
    )
    return [*objects[:2], route, *monitor]


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """Objects as one YAML stream (``---`` between documents), as ``kubectl`` reads it.

    Raises
    ------
    MissingDependency
        PyYAML is not installed (``pip install 'modelship[kubernetes]'``).

    Examples
    --------
    >>> print(to_yaml([{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}]))
    apiVersion: v1
    kind: Service
    metadata:
      name: x
    <BLANKLINE>
    """
    try:
        import yaml
    except ImportError as exc:
        raise MissingDependency(
            "printing manifests needs PyYAML: pip install 'modelship[kubernetes]'"
        ) from exc

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        """A SafeDumper that writes a repeated value out again instead of an alias, and
        quotes every string another YAML reader could take for something else."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: Any, data: str) -> Any:
        # PyYAML quotes what *its* YAML 1.1 resolver would not read back as text, but
        # kubectl's reader (go-yaml) also takes y, n, 1e-3 and 0o17 for booleans and
        # numbers: a plain scalar is kept only where no reader could doubt it.
        plain = _PLAIN_TEXT.fullmatch(data) and data.lower() not in _YAML_WORDS
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=None if plain else "'")

    Dumper.add_representer(str, text)
    return "---\n".join(yaml.dump(o, Dumper=Dumper, sort_keys=False) for o in objects)
