############################################################################
## A training program in the style of HPE Swarm Learning's PyTorch examples,
## written from HPE's documented API only: it imports swarmlearning.pyt,
## reads DATA_DIR, MODEL_DIR, SCRATCH_DIR, MAX_EPOCHS and MIN_PEERS from the
## environment (set by `swarm run-sl --ml-e NAME=VALUE`), and runs unchanged
## on HPE's product and on this project.
############################################################################

import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets, transforms

from swarmlearning.pyt import SwarmCallback

default_max_epochs = 5
default_min_peers = 2
batchSize = 64
syncFrequency = int(os.getenv('SYNC_FREQUENCY', '32'))
modelName = 'fmnist_pyt'


class FashionNet(nn.Module):
    def __init__(self):
        super(FashionNet, self).__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def loadData(dataDir):
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    trainSet = datasets.FashionMNIST(dataDir, train=True, download=False, transform=transform)
    testSet = datasets.FashionMNIST(dataDir, train=False, download=False, transform=transform)
    trainLoader = torch.utils.data.DataLoader(trainSet, batch_size=batchSize, shuffle=True)
    testLoader = torch.utils.data.DataLoader(testSet, batch_size=batchSize)
    return trainLoader, testLoader


def doTrainBatch(model, device, trainLoader, optimizer, epoch, swarmCallback):
    model.train()
    for batchIdx, (data, target) in enumerate(trainLoader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        if swarmCallback is not None:
            swarmCallback.on_batch_end()
    print('Train Epoch: {} \tLoss: {:.6f}'.format(epoch, loss.item()), flush=True)


def test(model, device, testLoader):
    model.eval()
    testLoss, correct = 0, 0
    with torch.no_grad():
        for data, target in testLoader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            testLoss += F.cross_entropy(output, target, reduction='sum').item()
            correct += output.argmax(dim=1).eq(target).sum().item()
    testLoss /= len(testLoader.dataset)
    accuracy = correct / len(testLoader.dataset)
    print('Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.4f})'.format(testLoss, correct, len(testLoader.dataset), accuracy), flush=True)
    return accuracy


def main():
    dataDir = os.getenv('DATA_DIR', '/platform/data')
    modelDir = os.getenv('MODEL_DIR', '/platform/model')
    scratchDir = os.getenv('SCRATCH_DIR', '/platform/scratch')
    maxEpochs = int(os.getenv('MAX_EPOCHS', str(default_max_epochs)))
    minPeers = int(os.getenv('MIN_PEERS', str(default_min_peers)))
    print('***** Starting model =', modelName, 'data', dataDir, 'model dir', modelDir, flush=True)
    torch.manual_seed(1)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    trainLoader, testLoader = loadData(dataDir)
    model = FashionNet().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

    # HPE's PyTorch callback: merged-model loss (and metric, where torchmetrics is installed) on the test loader.
    swarmCallback = SwarmCallback(syncFrequency=syncFrequency,
                                  minPeers=minPeers,
                                  useAdaptiveSync=False,
                                  adsValData=testLoader,
                                  adsValBatchSize=batchSize,
                                  model=model,
                                  totalEpochs=maxEpochs,
                                  lossFunction='CrossEntropyLoss',
                                  lossFunctionArgs={'reduction': 'sum'},
                                  metricFunction='MulticlassAccuracy',
                                  metricFunctionArgs={'num_classes': 10})
    swarmCallback.logger.info('swarm callback ready')
    swarmCallback.on_train_begin()
    start = time.time()
    for epoch in range(1, maxEpochs + 1):
        doTrainBatch(model, device, trainLoader, optimizer, epoch, swarmCallback)
        test(model, device, testLoader)
        swarmCallback.on_epoch_end(epoch)
    swarmCallback.on_train_end()
    accuracy = test(model, device, testLoader)
    print('Swarm training done in {:.1f} s: final test accuracy {:.4f}'.format(time.time() - start, accuracy), flush=True)

    modelPath = os.path.join(scratchDir, modelName)
    os.makedirs(modelPath, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(modelPath, 'saved_model.pt'))
    print('Saved the trained model!', flush=True)


if __name__ == '__main__':
    main()
