"""Swarm Learning for Python ML programs: a thin client of the SL node's ML channel (proto/ml.proto).

The SL node (`swarm run-sl --ml-cmd "python3 train.py"`) starts the program with SWARM_ML_ENDPOINT and SWARM_WORK_DIR
in its environment. Models travel as safetensors files in the work folder; the node does all networking and merging.
"""

from .client import SwarmClient, SwarmError, MergedModel
from .safetensors import save_file, load_file

__all__ = ["SwarmClient", "SwarmError", "MergedModel", "save_file", "load_file"]
