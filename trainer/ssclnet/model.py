"""SSCLNet networks: a ResNet-18 encoder on 1-channel slices, the SimCLR projection head, the classifier.

Parameter names are part of the export contract (`ssclnet.export` maps them to TensorFlow.js layers):
`encoder.*` is torchvision's ResNet-18 without its `fc`, `classifier.*` one Linear layer.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

FEATURE_DIM = 512
PROJECTION_DIM = 128


class Encoder(nn.Module):
    """ResNet-18 trunk: (N, C, H, W) -> (N, 512) after global average pooling."""

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        net = resnet18(weights=None)
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.avgpool = net.avgpool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


class ProjectionHead(nn.Module):
    """SimCLR's MLP g(.): 512 -> 512 -> 128, used only during pretraining."""

    def __init__(self, in_dim: int = FEATURE_DIM, hidden_dim: int = FEATURE_DIM, out_dim: int = PROJECTION_DIM):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class SimCLRModel(nn.Module):
    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.encoder = Encoder(in_channels)
        self.projector = ProjectionHead()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder(x))


class Classifier(nn.Module):
    """Encoder + linear head; returns logits (softmax is applied by the exported model and by `predict`)."""

    def __init__(self, num_classes: int, in_channels: int = 1) -> None:
        super().__init__()
        self.encoder = Encoder(in_channels)
        self.classifier = nn.Linear(FEATURE_DIM, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.encoder(x))
