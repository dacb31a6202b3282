"""Tests of the SAM CLI host-network shim (run by scripts/sam-local.sh with .venv-sam's python):
    .venv-sam/bin/python -m unittest discover -s scripts/sam
"""

import os
import subprocess
import sys
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sam_host_network  # noqa: E402

# What samcli.local.docker.container.Container.create passes for `sam local invoke` (SAM 1.170).
SAM_KWARGS = {
    "command": ["bootstrap"],
    "working_dir": "/var/task",
    "volumes": {"/tmp/x": {"bind": "/var/task", "mode": "ro,delegated"}},
    "tty": False,
    "use_config_proxy": True,
    "environment": {"AWS_ENDPOINT_URL": "http://127.0.0.1:4613"},
    "ports": {"8080": ("127.0.0.1", 5123)},
    "entrypoint": ["/var/rapid/aws-lambda-rie", "--log-level", "error"],
    "mem_limit": "128m",
}


class RewriteTest(unittest.TestCase):
    def test_lambda_container_goes_on_the_host_network_with_the_emulator_on_samcli_port(self):
        out = sam_host_network.host_network_kwargs(SAM_KWARGS, free_port=lambda: 40001)
        self.assertEqual(out["network_mode"], "host")
        self.assertNotIn("ports", out)
        self.assertEqual(
            out["entrypoint"],
            ["/var/rapid/aws-lambda-rie",
             "--runtime-interface-emulator-address", "127.0.0.1:5123",
             "--runtime-api-address", "127.0.0.1:40001",
             "--log-level", "error"],
        )
        # Everything else is passed through unchanged, and the caller's dict is not modified.
        for key in ("command", "working_dir", "volumes", "environment", "mem_limit"):
            self.assertEqual(out[key], SAM_KWARGS[key])
        self.assertIn("ports", SAM_KWARGS)

    def test_each_container_gets_its_own_runtime_api_port(self):
        first = sam_host_network.host_network_kwargs(SAM_KWARGS)["entrypoint"]
        second = sam_host_network.host_network_kwargs(SAM_KWARGS)["entrypoint"]
        api = lambda entrypoint: entrypoint[entrypoint.index("--runtime-api-address") + 1]  # noqa: E731
        self.assertTrue(api(first).startswith("127.0.0.1:"))
        self.assertNotEqual(api(first), "127.0.0.1:9001")

    def test_a_container_that_is_not_the_emulator_only_changes_network(self):
        kwargs = {"command": ["cargo", "lambda", "build"], "ports": {"9000": ("127.0.0.1", 9000)},
                  "network": "bridge"}
        out = sam_host_network.host_network_kwargs(kwargs)
        self.assertEqual(out, {"command": ["cargo", "lambda", "build"], "network_mode": "host"})

    def test_an_emulator_without_a_published_port_is_an_error_not_a_guess(self):
        kwargs = dict(SAM_KWARGS, ports={})
        with self.assertRaises(ValueError):
            sam_host_network.host_network_kwargs(kwargs)


class InstallTest(unittest.TestCase):
    def test_install_wraps_docker_py_create_once(self):
        from docker.models.containers import ContainerCollection

        seen = []
        with mock.patch.object(ContainerCollection, "create",
                               lambda self, image, command=None, **kw: seen.append((image, command, kw))):
            sam_host_network.install()
            sam_host_network.install()  # idempotent: not wrapped twice
            ContainerCollection.create(None, "image:tag", **SAM_KWARGS)
        self.assertEqual(len(seen), 1)
        image, command, kwargs = seen[0]
        self.assertEqual((image, command), ("image:tag", ["bootstrap"]))
        self.assertEqual(kwargs["network_mode"], "host")
        self.assertNotIn("ports", kwargs)
        self.assertIn("--runtime-interface-emulator-address", kwargs["entrypoint"])

    def test_the_venv_loads_it_only_when_enabled(self):
        # The .pth line in .venv-sam imports the module at start-up; it patches only with the variable.
        probe = ("import docker.models.containers as c, sys; "
                 "sys.exit(0 if hasattr(c.ContainerCollection.create, '_sam_host_network') else 3)")
        for value, expected in (("1", 0), ("", 3)):
            env = dict(os.environ, **{sam_host_network.ENABLE_VAR: value})
            result = subprocess.run([sys.executable, "-c", probe], env=env, check=False)
            self.assertEqual(result.returncode, expected, f"{sam_host_network.ENABLE_VAR}={value!r}")


if __name__ == "__main__":
    unittest.main()
