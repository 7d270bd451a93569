#!/usr/bin/env python3
"""Linear regression (nn.Linear(FEATURES, 1)) on this node's synthetic data, in a swarm through the PyTorch
SwarmCallback: the same model as linear-torchsharp, so both train in one swarm (end-to-end tests)."""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python"))
from swarmlearning.pytorch import SwarmCallback  # noqa: E402

parser = argparse.ArgumentParser()
for name, default in [("seed", 1), ("epochs", 3), ("batches", 10), ("sync", 5), ("min-peers", 2), ("features", 8), ("delay-ms", 0)]:
    parser.add_argument("--" + name, type=int, default=default)
parser.add_argument("--contract", default="linear")
args = parser.parse_args()

torch.manual_seed(args.seed)
truth = (torch.arange(1, 9, dtype=torch.float32).reshape(1, 8)[:, :args.features]) / 4
model = torch.nn.Linear(args.features, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)


def batch():
    x = torch.randn(32, args.features) + args.seed * 0.1
    return x, x @ truth.T + 0.5


def validate():
    with torch.no_grad():
        x, y = batch()
        return torch.nn.functional.mse_loss(model(x), y).item(), 0.0


swarm = SwarmCallback(model, sync_frequency=args.sync, min_peers=args.min_peers, training_contract=args.contract,
                      total_epochs=args.epochs, validate=validate)
swarm.on_train_begin()
print("started from round %d" % swarm.last.round, flush=True)
for epoch in range(args.epochs):
    if swarm.training_over:
        break
    for _ in range(args.batches):
        optimizer.zero_grad()
        x, y = batch()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        swarm.on_batch_end()
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        if swarm.training_over:
            break
    swarm.on_epoch_end()
    print("epoch %d/%d done at round %d" % (epoch + 1, args.epochs, swarm.last.round), flush=True)
swarm.on_train_end()
print("final model %s round %d" % (swarm.last.sha256, swarm.last.round), flush=True)
