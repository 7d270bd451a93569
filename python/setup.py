"""Installs the swarmlearning package: `pip install ./python` (from the repository or a release folder).

No pyproject.toml on purpose: with one, pip builds in an isolated environment and downloads setuptools from PyPI; with
setup.py alone it builds with the setuptools already installed (Debian's python3-setuptools), so it works offline.
The ML channel's proto (../proto/ml.proto, the one the node is built from) is shipped inside the package; the gRPC
code is generated from it on first import (swarmlearning/_proto.py).
"""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "proto", "ml.proto")


def version():
    path = os.path.join(HERE, "..", "VERSION")
    return open(path).read().strip() if os.path.isfile(path) else "0.0.0"


class BuildWithProto(build_py):
    """Copies the ML channel's proto into the built package."""

    def run(self):
        super().run()
        if not os.path.isfile(PROTO):
            raise SystemExit("error: %s not found: install from the repository's or the release's python/ folder, "
                             "which has proto/ beside it" % os.path.normpath(PROTO))
        self.copy_file(PROTO, os.path.join(self.build_lib, "swarmlearning", "ml.proto"))


setup(
    name="swarmlearning",
    version=version(),
    description="Swarm Learning ML programs' side: the SL node's ML channel client and PyTorch callbacks "
                "(swarmlearning.pytorch, and HPE's surface as swarmlearning.pyt)",
    packages=["swarmlearning"],
    python_requires=">=3.9",
    install_requires=[],  # torch, grpcio, grpcio-tools and numpy come from Debian (python3-torch, ...), not from PyPI
    cmdclass={"build_py": BuildWithProto},
)
