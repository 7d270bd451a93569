"""HPE Swarm Learning's PyTorch callback, on this project's node: `from swarmlearning.pyt import SwarmCallback`.

Programs written for HPE's `swarmlearning.pyt` run unchanged: the same camelCase parameters, defaults, validation
messages, hooks and attributes (docs/hpe-compatibility.md). Underneath is the one implementation,
`swarmlearning.pytorch.SwarmCallback`, and the ML channel to `swarm run-sl` (gRPC and safetensors files, where HPE uses
named pipes and pickle: unpickling runs code, so we do not copy it).
"""

import logging
import os
import sys

import torch

from . import pytorch as _pytorch
from .client import SwarmError

DEFAULT_TRAINING_CONTRACT = "defaultbb.cqdb.sml.hpe"
CHECKIN_MODEL_ON_TRAIN_END = ["inactive", "active", "snapshot"]
MERGE_METHODS = ["mean", "coordmedian", "geomedian"]
_KEYWORDS = {
    "model", "useAdaptiveSync", "adsValData", "adsValBatchSize", "checkinModelOnTrainEnd", "nodeWeightage", "mergeMethod",
    "totalEpochs", "lossFunction", "lossFunctionArgs", "metricFunction", "metricFunctionArgs", "logger", "ml_platform",
    "mlPlatform", "hfMode",
}

__all__ = ["SwarmCallback", "SwarmError", "DEFAULT_TRAINING_CONTRACT"]


def _default_logger():
    logger = logging.getLogger("SwarmCallback")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s : %(name)s : %(levelname)s : %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _loopback():
    return os.getenv("SWARM_LOOPBACK", "False").strip().lower() == "true"


class SwarmCallback:
    """HPE's PyTorch SwarmCallback. Call on_train_begin() once, on_batch_end() after every batch, on_epoch_end() after
    every epoch and on_train_end() at the end; the model then holds the final swarm model, the same on every node.

    With adsValData (a DataLoader), lossFunction (a torch.nn loss class name) and metricFunction (a torchmetrics class
    name), the loss and metric of each merged model on this node's validation data are reported to the node (PERFDATA,
    adaptive sync). SWARM_LOOPBACK=True: parameters are still checked, nothing else touches the swarm.
    """

    def __init__(self, syncFrequency, minPeers, trainingContract=DEFAULT_TRAINING_CONTRACT, **kwargs):
        self.logger = kwargs.get("logger") or _default_logger()
        self.loopback = _loopback()
        self.syncFrequency = self._positive(syncFrequency, "syncFrequency has to be a positive integer")
        self.minPeers = self._positive(minPeers, "minPeers have to be a positive integer")
        if trainingContract is None:
            self._fail("Invalid Training Contract")
        self.trainingContract = trainingContract
        self.totalEpochs = self._total_epochs(kwargs.get("totalEpochs"))
        self.checkinModelOnTrainEnd = kwargs.get("checkinModelOnTrainEnd", "snapshot")
        if self.checkinModelOnTrainEnd not in CHECKIN_MODEL_ON_TRAIN_END:
            self._fail("Invalid value checkinModelOnTrainEnd: %s. Allowed values: %s" % (self.checkinModelOnTrainEnd, CHECKIN_MODEL_ON_TRAIN_END))
        self.nodeWeightage = self._node_weightage(kwargs.get("nodeWeightage", 1))
        self.mergeMethod = str(kwargs.get("mergeMethod", "mean")).lower()
        if self.mergeMethod not in MERGE_METHODS:
            self._fail("Invalid value mergeMethod: %s. Allowed values: %s" % (self.mergeMethod, MERGE_METHODS))
        self.useAdaptiveSync = bool(kwargs.get("useAdaptiveSync", False))
        self.valData = kwargs.get("adsValData")
        self.valBatchSize = kwargs.get("adsValBatchSize")
        if self.valData is not None and not isinstance(self.valData, torch.utils.data.DataLoader):
            self._fail("adsValData type passed is %s, not matching with torch.utils.data.DataLoader" % type(self.valData))
        if self.useAdaptiveSync and self.valData is None:
            self._fail("For adaptive sync, valid adsValData is mandatory and a positive adsValBatchSize if applicable")
        platform = kwargs.get("ml_platform", kwargs.get("mlPlatform", "PYTORCH"))
        if platform != "PYTORCH":
            self._fail("Invalid ml platform type: %s" % platform)
        self.model = kwargs.get("model")
        if self.model is None:
            self._fail("Pytorch model is None")
        self.lossFunction, self.lossFunctionArgs = kwargs.get("lossFunction"), kwargs.get("lossFunctionArgs") or {}
        self.metricFunction, self.metricFunctionArgs = kwargs.get("metricFunction"), kwargs.get("metricFunctionArgs") or {}
        unknown = sorted(set(kwargs) - _KEYWORDS)
        if unknown:
            self.logger.warning("ignoring parameters this callback does not know: %s", ", ".join(unknown))
        self.isSwarmTrainingOver = False
        self.epochsCompleted = 0
        self._metric_warned = False
        self._log_parameters()
        self._swarm = None
        if not self.loopback:
            self._swarm = _pytorch.SwarmCallback(
                self.model, sync_frequency=self.syncFrequency, min_peers=self.minPeers, training_contract=self.trainingContract,
                use_adaptive_sync=self.useAdaptiveSync, validate=self._validate if self.valData is not None else None,
                checkin_model_on_train_end=self.checkinModelOnTrainEnd, node_weightage=self.nodeWeightage,
                merge_method=self.mergeMethod, total_epochs=self.totalEpochs)

    def on_train_begin(self):
        if self._swarm is None:
            return
        self._swarm.on_train_begin()
        self.isSwarmTrainingOver = self._swarm.training_over

    def on_batch_end(self, batch=None):
        if self._swarm is None:
            return
        self._swarm.on_batch_end()
        self.isSwarmTrainingOver = self._swarm.training_over

    def on_epoch_end(self, epoch=None):
        self.epochsCompleted += 1
        if self._swarm is not None:
            self._swarm.on_epoch_end()

    def on_train_end(self):
        if self._swarm is None:
            return
        self.logger.info("Finished local training")
        self._swarm.on_train_end()
        self.isSwarmTrainingOver = True
        self.logger.info("All peers and Swarm training rounds finished. Final Swarm model was loaded.")

    def _validate(self):
        """Loss and metric of the model (now holding the merged weights) on adsValData, as HPE computes them: the sum
        of the batch losses over the dataset size, the metric over all batches; the model is back in train mode after.
        A failure (a loss name torch.nn does not have, say) is a SwarmError with HPE's wording."""
        try:
            return self._loss_and_metric()
        except SwarmError:
            raise
        except Exception as e:  # noqa: BLE001 - HPE wraps whatever the user's loss or metric raises
            self._fail("Exception in method pyt.py:_calculateLocalLossAndMetrics, error message - %s" % e)

    def _loss_and_metric(self):
        loss_function = getattr(torch.nn, self.lossFunction)(**self.lossFunctionArgs) if self.lossFunction else None
        metric = self._metric()
        if loss_function is None and metric is None:
            return None, None
        device = next(self.model.parameters()).device
        total = 0.0
        self.model.eval()
        try:
            with torch.no_grad():
                for data, target in self.valData:
                    data, target = data.to(device), target.to(device)
                    output = self.model(data)
                    if loss_function is not None:
                        total += float(loss_function(output, target))
                    if metric is not None:
                        metric.update(output.cpu(), target.cpu())
        finally:
            self.model.train()
        loss = total / len(self.valData.dataset) if loss_function is not None else None
        value = float(metric.compute()) if metric is not None else None
        self.logger.info("Calculated local loss using merged parameters = %s", loss)
        return loss, value

    def _metric(self):
        if not self.metricFunction:
            return None
        try:
            import torchmetrics
        except ImportError:
            if not self._metric_warned:
                self._metric_warned = True
                self.logger.warning("metricFunction %s needs torchmetrics, which is not installed: the metric is reported as "
                                    "missing, the loss still is", self.metricFunction)
            return None
        return getattr(torchmetrics, self.metricFunction)(**self.metricFunctionArgs)

    def _positive(self, value, message):
        try:
            number = int(value)
        except (TypeError, ValueError):
            self._fail(message)
        if number <= 0:
            self._fail(message)
        return number

    def _total_epochs(self, value):
        if value is None:
            self.logger.warning("totalEpochs is not set: progress shows epochs done without a total")
            return 0
        return self._positive(value, "totalEpochs value is not a positive integer")

    def _node_weightage(self, value):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number <= 100:
            self._fail("Node weightage should be a number between 1-100. Provided value: %s" % value)
        return number

    def _fail(self, message):
        self.logger.error(message)
        raise SwarmError(message)

    def _log_parameters(self):
        self.logger.info("***** Is Swarm callback in loopback mode: %s *****", self.loopback)
        self.logger.info("syncFrequency: %d, minPeers: %d, trainingContract: %s, useAdaptiveSync: %s, checkinModelOnTrainEnd: %s, "
                         "nodeWeightage: %d, mergeMethod: %s, totalEpochs: %d", self.syncFrequency, self.minPeers,
                         self.trainingContract, self.useAdaptiveSync, self.checkinModelOnTrainEnd, self.nodeWeightage,
                         self.mergeMethod, self.totalEpochs)
        if self.valData is None:
            self.logger.info("valData is not available to compute loss and metrics")
