"""HPE's PyTorch surface (swarmlearning.pyt): parameters, HPE's validation messages, SWARM_LOOPBACK, the loss and
metric of merged models on adsValData, against the scripted ML-channel node of test_callback."""

import os
import tempfile
import unittest
from concurrent import futures
from unittest import mock

import grpc
import torch

import _path  # noqa: F401
from swarmlearning.client import SwarmError
from swarmlearning.pyt import SwarmCallback
from test_callback import ScriptedNode, pb, pb_grpc


class RecordingNode(ScriptedNode):
    def Report(self, request, context):
        self.calls.append(("values", request.validation.loss, request.validation.metric) if request.HasField("validation") else ("values", None, None))
        return super().Report(request, context)


def loader(xs, ys, batch_size=1):
    data = torch.utils.data.TensorDataset(torch.tensor(xs).reshape(-1, 1), torch.tensor(ys).reshape(-1, 1))
    return torch.utils.data.DataLoader(data, batch_size=batch_size)


def zeroed():
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    return model


class ValidationTests(unittest.TestCase):
    """HPE checks its parameters before anything else, in loopback mode too, and says what is wrong in its words."""

    def setUp(self):
        patcher = mock.patch.dict(os.environ, {"SWARM_LOOPBACK": "True"})
        patcher.start()
        self.addCleanup(patcher.stop)

    def refused(self, message, *args, **kwargs):
        kwargs.setdefault("model", torch.nn.Linear(1, 1))
        with self.assertLogs("SwarmCallback", "ERROR"), self.assertRaises(SwarmError) as raised:
            SwarmCallback(*args, **kwargs)
        self.assertEqual(str(raised.exception), message)

    def test_each_bad_parameter_is_refused_with_hpes_message(self):
        self.refused("syncFrequency has to be a positive integer", 0, 2)
        self.refused("minPeers have to be a positive integer", 4, "two")
        self.refused("Invalid Training Contract", 4, 2, None)
        self.refused("totalEpochs value is not a positive integer", 4, 2, totalEpochs=-1)
        self.refused("Invalid value checkinModelOnTrainEnd: later. Allowed values: ['inactive', 'active', 'snapshot']", 4, 2, checkinModelOnTrainEnd="later")
        self.refused("Node weightage should be a number between 1-100. Provided value: 101", 4, 2, nodeWeightage=101)
        self.refused("Invalid value mergeMethod: krum. Allowed values: ['mean', 'coordmedian', 'geomedian']", 4, 2, mergeMethod="Krum")
        self.refused("adsValData type passed is <class 'list'>, not matching with torch.utils.data.DataLoader", 4, 2, adsValData=[1, 2])
        self.refused("For adaptive sync, valid adsValData is mandatory and a positive adsValBatchSize if applicable", 4, 2, useAdaptiveSync=True)
        self.refused("Invalid ml platform type: KERAS", 4, 2, ml_platform="KERAS")
        self.refused("Pytorch model is None", 4, 2, model=None)

    def test_defaults_are_hpes_and_camel_case_values_are_normalised(self):
        swarm = SwarmCallback("8", 2, model=torch.nn.Linear(1, 1), mergeMethod="CoordMedian", totalEpochs=3)
        self.assertEqual((swarm.syncFrequency, swarm.minPeers, swarm.trainingContract), (8, 2, "defaultbb.cqdb.sml.hpe"))
        self.assertEqual((swarm.mergeMethod, swarm.checkinModelOnTrainEnd, swarm.nodeWeightage), ("coordmedian", "snapshot", 1))
        self.assertFalse(swarm.isSwarmTrainingOver)
        self.assertEqual(swarm.logger.name, "SwarmCallback")

    def test_unknown_keywords_are_named_in_one_warning(self):
        with self.assertLogs("SwarmCallback", "WARNING") as logs:
            SwarmCallback(4, 2, model=torch.nn.Linear(1, 1), totalEpochs=1, maxPeers=3, nodeWeight=5)
        self.assertEqual([line for line in logs.output if "does not know" in line],
                         ["WARNING:SwarmCallback:ignoring parameters this callback does not know: maxPeers, nodeWeight"])

    def test_loopback_trains_alone_without_a_node(self):
        os.environ.pop("SWARM_ML_ENDPOINT", None)
        model = zeroed()
        swarm = SwarmCallback(1, 2, model=model, totalEpochs=2)
        swarm.on_train_begin()
        for epoch in range(2):
            swarm.on_batch_end(batch=0)
            swarm.on_epoch_end(epoch)
        swarm.on_train_end()
        self.assertEqual(swarm.epochsCompleted, 2)
        self.assertEqual(model.bias.item(), 0.0)  # no merged model was ever loaded


class SwarmTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.node = RecordingNode(self.folder, rounds=100)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        pb_grpc.add_SwarmMlServicer_to_server(self.node, self.server)
        socket = os.path.join(self.folder, "ml.sock")
        self.server.add_insecure_port("unix:" + socket)
        self.server.start()
        patcher = mock.patch.dict(os.environ, {"SWARM_ML_ENDPOINT": "unix:" + socket, "SWARM_WORK_DIR": self.folder, "SWARM_LOOPBACK": "False"})
        patcher.start()
        self.addCleanup(patcher.stop)

    def tearDown(self):
        self.server.stop(None)

    def test_the_loss_of_each_merged_model_on_ads_val_data_is_reported_and_a_missing_torchmetrics_is_said_once(self):
        model = zeroed()
        swarm = SwarmCallback(1, 2, model=model, totalEpochs=1, adsValData=loader([1.0, 2.0], [0.0, 0.0]), adsValBatchSize=1,
                              lossFunction="L1Loss", lossFunctionArgs={"reduction": "sum"},
                              metricFunction="MeanAbsoluteError", metricFunctionArgs={})
        swarm.on_train_begin()
        self.assertEqual(model.weight.item(), 1.0)  # the initial merged model (the node adds one to every tensor)
        with self.assertLogs("SwarmCallback", "INFO") as logs:
            for batch in range(6):  # the scripted node asks for a sync every 3 batches
                swarm.on_batch_end(batch)
        swarm.on_epoch_end(0)
        swarm.on_train_end()
        reports = [c for c in self.node.calls if c[0] == "values"]
        # After the second merge the model is 2x + 2: |4| + |6| over 2 samples; after the third 3x + 3: (6 + 9) / 2.
        self.assertEqual([r[1] for r in reports[:2]], [5.0, 7.5])
        self.assertTrue(all(r[2] != r[2] for r in reports))  # NaN: no metric without torchmetrics
        self.assertEqual(sum("needs torchmetrics" in line for line in logs.output), 1)
        self.assertTrue(swarm.isSwarmTrainingOver)
        self.assertTrue(model.training)  # validation put the model back in training mode
        self.assertEqual(self.node.calls[0], ("register", 1, "defaultbb.cqdb.sml.hpe"))

    def test_a_loss_torch_does_not_have_fails_after_the_merge_with_hpes_message(self):
        swarm = SwarmCallback(1, 2, model=zeroed(), totalEpochs=1, adsValData=loader([1.0], [0.0]), lossFunction="NoSuchLoss")
        swarm.on_train_begin()
        with self.assertLogs("SwarmCallback", "ERROR"), self.assertRaisesRegex(
                SwarmError, "^Exception in method pyt.py:_calculateLocalLossAndMetrics, error message - .*NoSuchLoss"):
            for batch in range(3):
                swarm.on_batch_end(batch)


if __name__ == "__main__":
    unittest.main()
