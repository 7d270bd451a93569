"""The ML program's end of the ML channel: gRPC over the SL node's Unix socket."""

import os
from dataclasses import dataclass

import grpc

from . import _proto


class SwarmError(Exception):
    """The SL node refused (the message says what is wrong and what to do) or cannot be reached."""


@dataclass
class MergedModel:
    path: str
    sha256: str
    round: int
    training_over: bool
    sync_every: int


class SwarmClient:
    """Register, Sync and Report, as in proto/ml.proto. endpoint defaults to $SWARM_ML_ENDPOINT (unix:/path/ml.sock)."""

    def __init__(self, endpoint=None):
        endpoint = endpoint or os.environ.get("SWARM_ML_ENDPOINT")
        if not endpoint:
            raise SwarmError("SWARM_ML_ENDPOINT is not set: run this program through its SL node "
                             "(swarm run-sl --ml-cmd ...), or set it to the node's unix:/path/ml.sock")
        if not endpoint.startswith("unix:"):
            raise SwarmError("SWARM_ML_ENDPOINT %r is not a unix: address; the ML channel is a Unix socket" % endpoint)
        self._pb, grpc_module = _proto.load()
        self._channel = grpc.insecure_channel(endpoint, options=[("grpc.max_receive_message_length", -1)])
        self._stub = grpc_module.SwarmMlStub(self._channel)
        self.work_dir = os.environ.get("SWARM_WORK_DIR") or os.getcwd()

    def register(self, model_path, training_contract="default", min_peers=1, sync_frequency=1, merge_method="mean",
                 use_adaptive_sync=False, node_weightage=1, checkin_model_on_train_end="snapshot", total_epochs=0, sample_count=0,
                 dp_clip_norm=0.0, dp_noise_multiplier=0.0, dp_delta=0.0):
        parameters = self._pb.SwarmParameters(
            training_contract=training_contract, min_peers=min_peers, sync_frequency=sync_frequency, merge_method=merge_method,
            use_adaptive_sync=use_adaptive_sync, node_weightage=node_weightage,
            checkin_model_on_train_end=checkin_model_on_train_end, total_epochs=total_epochs, sample_count=sample_count,
            dp_clip_norm=dp_clip_norm, dp_noise_multiplier=dp_noise_multiplier, dp_delta=dp_delta)
        reply = self._call(self._stub.Register, self._pb.RegisterRequest(parameters=parameters, model_path=model_path))
        return reply.sync_every

    def sync(self, kind, model_path, epochs_done, trained_since_sync=True):
        """kind: "initial", "periodic" or "final". Blocks while the round waits for peers."""
        kinds = {"initial": self._pb.SYNC_KIND_INITIAL, "periodic": self._pb.SYNC_KIND_PERIODIC, "final": self._pb.SYNC_KIND_FINAL}
        request = self._pb.SyncRequest(kind=kinds[kind], model_path=model_path, epochs_done=epochs_done, trained_since_sync=trained_since_sync)
        reply = self._call(self._stub.Sync, request)
        return MergedModel(reply.model_path, reply.model_sha256, reply.round, reply.training_over, reply.sync_every)

    def report(self, epochs_done, loss=None, metric=None):
        request = self._pb.ReportRequest(epochs_done=epochs_done)
        if loss is not None:
            request.validation.loss = float(loss)
            request.validation.metric = float(metric if metric is not None else float("nan"))
        return self._call(self._stub.Report, request).sync_every

    def close(self):
        self._channel.close()

    @staticmethod
    def _call(method, request):
        try:
            return method(request)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                raise SwarmError("the SL node is not reachable on its ML channel (%s): is `swarm run-sl` running?" % e.details()) from None
            raise SwarmError(e.details()) from None
