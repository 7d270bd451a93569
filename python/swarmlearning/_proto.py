"""The ML channel's generated gRPC code, made on first use from the proto with grpc_tools (Debian:
python3-grpc-tools) into a cache folder, so no generated file is kept in the repository. The proto is the one shipped
$SWARM_PROTO if set, else the one shipped inside the installed package (setup.py copies it there), else the
repository's proto/ml.proto."""

import hashlib
import importlib
import os
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))


def _proto_file():
    candidates = [os.environ.get("SWARM_PROTO"), os.path.join(_HERE, "ml.proto"), os.path.join(_HERE, "..", "..", "proto", "ml.proto")]
    for path in candidates:
        if path and os.path.isfile(path):
            return os.path.abspath(path)
    raise RuntimeError("proto/ml.proto not found: set SWARM_PROTO to its path (it is in the swarm repository's proto/ folder)")


def load():
    """Returns the (ml_pb2, ml_pb2_grpc) modules."""
    proto = _proto_file()
    with open(proto, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "swarmlearning", "proto-" + digest)
    if not os.path.isfile(os.path.join(cache, "ml_pb2_grpc.py")):
        try:
            from grpc_tools import protoc
        except ImportError as e:
            raise RuntimeError("grpc_tools is missing: install it with `apt-get install python3-grpc-tools`") from e
        staging = cache + ".tmp-%d" % os.getpid()
        private = False
        try:
            os.makedirs(staging, exist_ok=True)
        except OSError:
            # No writable home (a service account): a fresh private folder for this process only. Never a shared,
            # predictable path: another user could plant modules there, and they would be imported.
            staging = cache = tempfile.mkdtemp(prefix="swarmlearning-proto-")
            private = True
        status = protoc.main(["protoc", "-I" + os.path.dirname(proto), "--python_out=" + staging, "--grpc_python_out=" + staging, proto])
        if status != 0:
            raise RuntimeError("generating the gRPC code from %s failed (protoc exit %d)" % (proto, status))
        if not private:  # the private folder needs no rename: nobody else writes there
            try:
                os.rename(staging, cache)  # atomic: concurrent programs never see half-written modules
            except OSError:
                if not os.path.isfile(os.path.join(cache, "ml_pb2_grpc.py")):
                    raise
    if cache not in sys.path:
        sys.path.insert(0, cache)
    return importlib.import_module("ml_pb2"), importlib.import_module("ml_pb2_grpc")
