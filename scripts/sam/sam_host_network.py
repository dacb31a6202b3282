"""SAM CLI on a Docker engine without a bridge network: every container on the host's network.

`sam local` creates its Lambda containers on Docker's default bridge network and publishes the
Runtime Interface Emulator's port 8080 on a free host port (its `rapid_port_host`), then calls
http://127.0.0.1:<that port>. Machines where no private-range address may exist run dockerd with
`--bridge=none`: there is no bridge to attach to, and `--docker-network host` alone does not help
(SAM still publishes the port, then waits on it in vain). This module wraps docker-py's
`ContainerCollection.create` so that each container:
  - runs in the host's network namespace (`network_mode="host"`), with no port bindings;
  - starts `aws-lambda-rie` listening on 127.0.0.1:<the host port SAM chose> (so SAM finds it
    where it looks) and its Runtime API on 127.0.0.1:<another free port> (so two containers, e.g.
    `sam local start-api` with several functions warm, never share the default 127.0.0.1:9001).

It is loaded by `sam_host_network.pth` in .venv-sam (make sam-venv) and does nothing unless
SAM_LOCAL_HOST_NETWORK=1 (scripts/sam-local.sh sets it). On a normal Docker host (a bridge network
and image pulls) it is not needed: leave the variable unset.
"""

import os
import socket

ENABLE_VAR = "SAM_LOCAL_HOST_NETWORK"
RIE = "/var/rapid/aws-lambda-rie"
RIE_PORT = "8080"


def free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def host_network_kwargs(kwargs, free_port=free_loopback_port):
    """The container's create() arguments, rewritten for the host's network (a new dict)."""
    kwargs = dict(kwargs)
    ports = kwargs.pop("ports", None) or {}
    kwargs.pop("network", None)
    kwargs["network_mode"] = "host"
    entrypoint = kwargs.get("entrypoint")
    if isinstance(entrypoint, list) and entrypoint and entrypoint[0] == RIE:
        binding = ports.get(RIE_PORT) or ports.get(f"{RIE_PORT}/tcp")
        if binding is None:
            raise ValueError(f"SAM published no host port for the emulator's {RIE_PORT}: {ports!r}")
        host_port = binding[1] if isinstance(binding, tuple) else binding
        kwargs["entrypoint"] = [
            RIE,
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{host_port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            *entrypoint[1:],
        ]
    return kwargs


def install():
    from docker.models.containers import ContainerCollection

    original = ContainerCollection.create
    if getattr(original, "_sam_host_network", False):
        return

    def create(self, image, command=None, **kwargs):
        return original(self, image, command, **host_network_kwargs(kwargs))

    create._sam_host_network = True
    ContainerCollection.create = create


if os.environ.get(ENABLE_VAR) == "1":
    install()
