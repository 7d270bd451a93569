"""The PyTorch callback's side of the protocol, against a scripted ML-channel server on a Unix socket (the real SL node
is exercised end to end by SlProcessTests)."""

import os
import tempfile
import unittest
from concurrent import futures

import grpc
import numpy as np
import torch

import _path  # noqa: F401
from swarmlearning import _proto
from swarmlearning.client import SwarmClient, SwarmError
from swarmlearning.pytorch import SwarmCallback
from swarmlearning.safetensors import load_file, save_file

pb, pb_grpc = _proto.load()


class ScriptedNode(pb_grpc.SwarmMlServicer):
    """Merges by returning the offered model plus one; says training is over after `rounds` periodic syncs."""

    def __init__(self, folder, rounds=100, refuse=None):
        self.folder, self.rounds, self.refuse = folder, rounds, refuse
        self.calls, self.round = [], 0

    def Register(self, request, context):
        self.calls.append(("register", request.parameters.sync_frequency, request.parameters.training_contract))
        p = request.parameters
        self.privacy = (p.dp_clip_norm, p.dp_noise_multiplier, p.dp_delta)
        if self.refuse:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, self.refuse)
        return pb.RegisterReply(node_id="n1", contract=request.parameters.training_contract, sync_every=request.parameters.sync_frequency)

    def Sync(self, request, context):
        self.calls.append(("sync", pb.SyncKind.Name(request.kind), request.epochs_done))
        tensors, _ = load_file(request.model_path)
        merged = os.path.join(self.folder, "merged-%d.safetensors" % self.round)
        save_file({k: v + 1 for k, v in tensors.items()}, merged)
        self.round += 1
        over = request.kind == pb.SYNC_KIND_FINAL or self.round > self.rounds
        return pb.SyncReply(model_path=merged, model_sha256="ab" * 32, round=self.round, training_over=over, sync_every=3)

    def Report(self, request, context):
        self.calls.append(("report", request.epochs_done, request.HasField("validation")))
        return pb.ReportReply(sync_every=3)


class CallbackTests(unittest.TestCase):
    def start(self, node):
        self.folder = tempfile.mkdtemp()
        node.folder = self.folder
        socket = os.path.join(self.folder, "ml.sock")
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        pb_grpc.add_SwarmMlServicer_to_server(node, self.server)
        self.server.add_insecure_port("unix:" + socket)
        self.server.start()
        os.environ["SWARM_WORK_DIR"] = self.folder
        return SwarmClient("unix:" + socket)

    def tearDown(self):
        self.server.stop(None)

    def test_syncs_every_sync_frequency_batches_loads_merged_models_and_finishes(self):
        node = ScriptedNode(None)
        model = torch.nn.Linear(2, 1)
        with torch.no_grad():
            model.weight.zero_()
            model.bias.zero_()
        swarm = SwarmCallback(model, sync_frequency=3, min_peers=2, training_contract="t", client=self.start(node), validate=lambda: (0.5, 0.9))
        swarm.on_train_begin()
        self.assertEqual(model.bias.item(), 1.0)  # the initial merged model was loaded
        for _ in range(7):
            swarm.on_batch_end()
        swarm.on_epoch_end()
        swarm.on_train_end()
        kinds = [c[1] for c in node.calls if c[0] == "sync"]
        self.assertEqual(kinds, ["SYNC_KIND_INITIAL", "SYNC_KIND_PERIODIC", "SYNC_KIND_PERIODIC", "SYNC_KIND_FINAL"])
        self.assertEqual(node.calls[0], ("register", 3, "t"))
        self.assertEqual(model.bias.item(), 4.0)  # each of the 4 merges added one
        self.assertTrue(swarm.training_over)
        self.assertIn(("report", 1, True), node.calls)

    def test_differential_privacy_settings_reach_the_node(self):
        node = ScriptedNode(None)
        swarm = SwarmCallback(torch.nn.Linear(2, 1), sync_frequency=1, min_peers=1, client=self.start(node),
                              dp_clip_norm=1.5, dp_noise_multiplier=0.8, dp_delta=1e-6)
        swarm.on_train_begin()
        self.assertEqual(node.privacy, (1.5, 0.8, 1e-6))

    def test_training_over_stops_syncing(self):
        node = ScriptedNode(None, rounds=1)
        swarm = SwarmCallback(torch.nn.Linear(2, 1), sync_frequency=1, min_peers=1, client=self.start(node))
        swarm.on_train_begin()
        for _ in range(5):
            swarm.on_batch_end()
        swarm.on_train_end()
        self.assertEqual([c[1] for c in node.calls if c[0] == "sync"], ["SYNC_KIND_INITIAL", "SYNC_KIND_PERIODIC"])

    def test_a_refusal_carries_the_nodes_message(self):
        node = ScriptedNode(None, refuse="tensor 'weight' has shape [1, 9] but [1, 8] is expected")
        swarm = SwarmCallback(torch.nn.Linear(9, 1), sync_frequency=1, min_peers=1, client=self.start(node))
        with self.assertRaisesRegex(SwarmError, "tensor 'weight' has shape"):
            swarm.on_train_begin()

    def test_without_the_endpoint_the_error_says_how_to_run(self):
        os.environ.pop("SWARM_ML_ENDPOINT", None)
        with self.assertRaisesRegex(SwarmError, "swarm run-sl"):
            SwarmClient()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))  # for tearDown

    def test_adaptive_sync_needs_validation(self):
        with self.assertRaisesRegex(SwarmError, "validate"):
            SwarmCallback(torch.nn.Linear(2, 1), sync_frequency=1, min_peers=1, use_adaptive_sync=True, client=object())
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))


if __name__ == "__main__":
    unittest.main()
