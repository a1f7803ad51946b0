"""The broker's access rules as mosquitto's dynamic-security plugin file (``dynsec.json``).

mosquitto 2.0's ``acl_file`` grants every SUBSCRIBE, so a device could join the ingest workers' share
group and swallow its turns of the uplink. The dynamic-security plugin checks SUBSCRIBE too (SUBACK 0x87
"Not authorized"), and it applies to clients named by their certificate (``use_identity_as_username``):
the broker skips password checks for them and the plugin looks the user name up among its clients.

mosquitto 2.0.11's plugin has no ``%u`` in its topics, so every device is a client of its own with a role
of its own naming its topics. A certificate whose name is not listed here connects but may do nothing:
every action falls through to ``defaultACLAccess``, which denies all but UNSUBSCRIBE. The plugin reads the
file only when mosquitto starts (not on SIGHUP): adding a device means rendering again and restarting.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.errors import EdgehrError
from fleet.bridge import bridge_rules
from fleet.pki import INGEST_IDENTITY, validate_client_cn

#: Where Debian's mosquitto package puts the plugin (multiarch folder first).
PLUGIN_GLOBS = ("/usr/lib/*/mosquitto_dynamic_security.so", "/usr/lib/mosquitto_dynamic_security.so")
INGEST_ROLE = "edgehr-ingest"
DEVICE_ROLE_PREFIX = "device-"
BRIDGE_ROLE_PREFIX = "bridge-"

#: What no role grants is refused; UNSUBSCRIBE is harmless and a client must be able to drop what it has.
DEFAULT_ACCESS = {"publishClientSend": False, "publishClientReceive": False, "subscribe": False, "unsubscribe": True}

#: The ingest workers: every device's uplink (plainly or through any share group) and status, and downlink
#: to every device. Subscription rules see the filter as sent, ``$share/<group>/`` included.
INGEST_RULES = (
    ("subscribePattern", "$share/+/edgehr/v1/+/up/#"),
    ("subscribePattern", "edgehr/v1/+/up/#"),
    ("subscribePattern", "$share/+/edgehr/v1/+/status"),
    ("subscribePattern", "edgehr/v1/+/status"),
    ("publishClientReceive", "edgehr/v1/+/up/#"),
    ("publishClientReceive", "edgehr/v1/+/status"),
    ("publishClientSend", "edgehr/v1/+/down/#"),
)

#: One device: writes its own uplink and status (the "online" it sets and its will), reads its own downlink.
#: Nothing else, and no share group: that is the point of this file.
DEVICE_RULES = (
    ("subscribePattern", "edgehr/v1/{device_id}/down/#"),
    ("publishClientReceive", "edgehr/v1/{device_id}/down/#"),
    ("publishClientSend", "edgehr/v1/{device_id}/up/#"),
    ("publishClientSend", "edgehr/v1/{device_id}/status"),
)


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="broker")


def _role(name: str, rules: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {
        "rolename": name,
        "acls": [{"acltype": kind, "topic": topic, "priority": 0, "allow": True} for kind, topic in rules],
    }


def dynsec_config(
    device_ids: Iterable[str],
    ingest_identity: str = INGEST_IDENTITY,
    bridges: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The plugin's whole configuration: the ingest identity and one client and role per device; on a central
    broker also one per site bridge (``bridges``: bridge name -> the devices it carries, ``fleet.bridge``)."""
    ingest = validate_client_cn(ingest_identity)
    devices = sorted(set(device_ids))
    for device_id in devices:
        validate_client_cn(device_id)
        if device_id == ingest:
            raise _error(
                f"{device_id!r} is the ingest identity and cannot also be a device.", "Give each device its own id."
            )
    roles = [_role(INGEST_ROLE, INGEST_RULES)]
    clients: list[dict[str, Any]] = [{"username": ingest, "roles": [{"rolename": INGEST_ROLE}]}]
    for device_id in devices:
        role = DEVICE_ROLE_PREFIX + device_id
        roles.append(_role(role, ((kind, t.format(device_id=device_id)) for kind, t in DEVICE_RULES)))
        clients.append({"username": device_id, "roles": [{"rolename": role}]})
    for name, carried in sorted((bridges or {}).items()):
        if validate_client_cn(name) in (ingest, *devices):
            raise _error(f"Bridge name {name!r} is already a device or the ingest identity.", "Name it bridge-<site>.")
        roles.append(_role(BRIDGE_ROLE_PREFIX + name, bridge_rules(carried)))
        clients.append({"username": name, "roles": [{"rolename": BRIDGE_ROLE_PREFIX + name}]})
    return {"defaultACLAccess": dict(DEFAULT_ACCESS), "clients": clients, "groups": [], "roles": roles}


def render_dynsec(
    device_ids: Iterable[str],
    ingest_identity: str = INGEST_IDENTITY,
    bridges: Mapping[str, Sequence[str]] | None = None,
) -> str:
    return json.dumps(dynsec_config(device_ids, ingest_identity, bridges), indent=1) + "\n"


def find_plugin(globs: Sequence[str] = PLUGIN_GLOBS) -> Path:
    """The installed dynamic-security plugin, or an error saying how to get it."""
    for pattern in globs:
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[0])
    raise _error(
        "mosquitto's dynamic-security plugin (mosquitto_dynamic_security.so) is not installed.",
        "Install mosquitto 2.0 from the distribution (ops/setup.sh: apt mosquitto), or pass its path.",
    )


def read_devices_file(path: Path) -> list[str]:
    """Device ids, one a line (blank lines and ``#`` comments ignored): the devices the broker lets in."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _error(f"The device list {path} cannot be read: {exc.strerror}.", "Give a readable file.") from None
    ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    devices = [i for i in ids if i]
    for device_id in devices:
        try:
            validate_client_cn(device_id)
        except EdgehrError:
            raise _error(
                f"{path}: {device_id!r} is not a device id.", "Use lower-case letters, digits and '-', one id a line."
            ) from None
    return devices
