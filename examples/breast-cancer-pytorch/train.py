#!/usr/bin/env python3
"""A PyTorch MLP on the Wisconsin breast cancer set (scikit-learn ships it), trained in a swarm.

Each node keeps its own share of the patients; the SwarmCallback merges what the nodes learned. Run it through an SL
node: swarm run-sl --name node1 ... --ml-cmd "python3 examples/breast-cancer-pytorch/train.py --shard 0 --shards 3"
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from swarmlearning.pytorch import SwarmCallback  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard", type=int, default=0, help="this node's share of the data (0-based)")
    parser.add_argument("--shards", type=int, default=1, help="how many nodes share the data")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--sync-frequency", type=int, default=8)
    parser.add_argument("--min-peers", type=int, default=2)
    parser.add_argument("--contract", default="breast-cancer")
    parser.add_argument("--merge", default="mean")
    parser.add_argument("--hidden", type=int, default=16, help="hidden units (a node with a different value is refused)")
    args = parser.parse_args()
    if not 0 <= args.shard < args.shards:
        parser.error("--shard must be between 0 and %d" % (args.shards - 1))

    torch.manual_seed(args.shard + 1)
    features, labels = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(7).permutation(len(labels))  # the same split on every node
    test_rows, train_rows = order[:114], order[114:]
    mine = np.array_split(train_rows, args.shards)[args.shard]
    mean, std = features[train_rows].mean(axis=0), features[train_rows].std(axis=0) + 1e-8  # public statistics of the schema
    x = torch.tensor((features[mine] - mean) / std, dtype=torch.float32)
    y = torch.tensor(labels[mine], dtype=torch.long)
    x_test = torch.tensor((features[test_rows] - mean) / std, dtype=torch.float32)
    y_test = torch.tensor(labels[test_rows], dtype=torch.long)
    print("node shard %d/%d: %d patients" % (args.shard + 1, args.shards, len(mine)), flush=True)

    model = torch.nn.Sequential(torch.nn.Linear(30, args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()

    def evaluate():
        model.eval()
        with torch.no_grad():
            logits = model(x_test)
            return loss_fn(logits, y_test).item(), (logits.argmax(1) == y_test).float().mean().item()

    swarm = SwarmCallback(model, sync_frequency=args.sync_frequency, min_peers=args.min_peers, training_contract=args.contract,
                          merge_method=args.merge, total_epochs=args.epochs, validate=evaluate, sample_count=len(y))
    swarm.on_train_begin()
    generator = torch.Generator().manual_seed(args.shard)
    for epoch in range(args.epochs):
        if swarm.training_over:
            break
        model.train()
        for batch in torch.randperm(len(y), generator=generator).split(args.batch_size):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
            swarm.on_batch_end()
            if swarm.training_over:
                break
        swarm.on_epoch_end()
        loss, accuracy = evaluate()
        print("epoch %d/%d: round %s, test loss %.4f, accuracy %.2f %%" % (epoch + 1, args.epochs, swarm.last.round if swarm.last else "-", loss, 100 * accuracy), flush=True)
    swarm.on_train_end()

    loss, accuracy = evaluate()
    print("final swarm model %s (round %d): test accuracy %.2f %%" % (swarm.last.sha256[:12], swarm.last.round, 100 * accuracy), flush=True)
    if os.environ.get("SWARM_MODEL_DIR"):
        with open(os.path.join(os.environ["SWARM_MODEL_DIR"], "result.json"), "w") as f:
            json.dump({"model": swarm.last.sha256, "round": swarm.last.round, "accuracy": accuracy, "loss": loss}, f)


if __name__ == "__main__":
    main()
