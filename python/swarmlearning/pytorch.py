"""The PyTorch swarm callback: call its hooks from the training loop and the model trains in the swarm."""

import os

import numpy as np
import torch

from .client import SwarmClient, SwarmError
from .safetensors import load_file, save_file

_TORCH_TAGS = {torch.bfloat16: "BF16"}


class SwarmCallback:
    """Pairs a torch.nn.Module with its SL node. Parameters as in HPE's callback and our C# one:

    sync_frequency, min_peers (required); training_contract="default"; use_adaptive_sync=False; validate=None (a function
    returning (loss, metric) on this node's validation data: reported after each merge, needed for adaptive sync);
    checkin_model_on_train_end="snapshot" (or "inactive", "active"); node_weightage=1; merge_method="mean";
    total_epochs=0 (for progress reports); sample_count=0 (the training samples this node holds: the node's merge weight
    is node_weightage x sample_count, so give it to weigh nodes by their data as FedAvg does; 0 counts as 1);
    dp_clip_norm=0, dp_noise_multiplier=0, dp_delta=0 (differential privacy, docs/privacy.md: the node clips each update
    to dp_clip_norm and adds Gaussian noise of dp_noise_multiplier x dp_clip_norm before checking it in; every node of
    the contract must give the same values; dp_delta 0 means 1e-5).

    Lifecycle: on_train_begin() -> on_batch_end() after every batch -> on_epoch_end() -> on_train_end(); after
    on_train_end the model holds the final swarm model, the same on every node.
    """

    def __init__(self, model, sync_frequency, min_peers, training_contract="default", use_adaptive_sync=False, validate=None,
                 checkin_model_on_train_end="snapshot", node_weightage=1, merge_method="mean", total_epochs=0, client=None,
                 sample_count=0, dp_clip_norm=0.0, dp_noise_multiplier=0.0, dp_delta=0.0):
        if use_adaptive_sync and validate is None:
            raise SwarmError("use_adaptive_sync needs validation data: pass validate=, a function returning (loss, metric)")
        self.model = model
        self.validate = validate
        self._parameters = dict(training_contract=training_contract, min_peers=min_peers, sync_frequency=sync_frequency,
                                merge_method=merge_method, use_adaptive_sync=use_adaptive_sync, node_weightage=node_weightage,
                                checkin_model_on_train_end=checkin_model_on_train_end, total_epochs=total_epochs,
                                sample_count=sample_count, dp_clip_norm=float(dp_clip_norm),
                                dp_noise_multiplier=float(dp_noise_multiplier), dp_delta=float(dp_delta))
        self.client = client or SwarmClient()
        self._local = os.path.join(self.client.work_dir, "local.safetensors")
        self._sync_every = sync_frequency
        self._since_sync = 0
        self.epochs_done = 0
        self.training_over = False
        self.last = None

    def on_train_begin(self):
        self._save()
        self._sync_every = self.client.register(self._local, **self._parameters)
        self._sync("initial", trained_since_sync=False)

    def on_batch_end(self):
        if self.training_over:
            return
        self._since_sync += 1
        if self._since_sync < self._sync_every:
            return
        self._save()
        self._sync("periodic", trained_since_sync=True)
        self._report()

    def on_epoch_end(self):
        self.epochs_done += 1

    def on_train_end(self):
        if not self.training_over:
            self._save()
            self._sync("final", trained_since_sync=self._since_sync > 0)
        self._report()

    def _sync(self, kind, trained_since_sync):
        merged = self.client.sync(kind, self._local, self.epochs_done, trained_since_sync)
        self._load(merged.path)
        self._since_sync = 0
        self._sync_every = merged.sync_every
        self.training_over = merged.training_over
        self.last = merged

    def _report(self):
        if self.validate is None:
            self._sync_every = self.client.report(self.epochs_done)
        else:
            loss, metric = self.validate()
            self._sync_every = self.client.report(self.epochs_done, loss, metric)

    def _save(self):
        arrays, tags = {}, {}
        for name, tensor in self.model.state_dict().items():
            tensor = tensor.detach().cpu().contiguous()
            if tensor.dtype in _TORCH_TAGS:
                tags[name] = _TORCH_TAGS[tensor.dtype]
                tensor = tensor.view(torch.int16)
            arrays[name] = tensor.numpy()
        save_file(arrays, self._local, tags)

    def _load(self, path):
        arrays, tags = load_file(path)
        state = self.model.state_dict()
        for name, target in state.items():
            if name not in arrays:
                raise SwarmError("the merged model has no tensor %r: this program's model differs from the swarm's" % name)
            array = arrays[name]
            if tags[name] == "BF16":
                value = torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
            else:
                value = torch.from_numpy(array)
            if tuple(value.shape) != tuple(target.shape):
                raise SwarmError("tensor %r has shape %s in the merged model but %s here" % (name, tuple(value.shape), tuple(target.shape)))
            with torch.no_grad():
                target.copy_(value.to(target.dtype))
