# The models of `./build.sh bench-peers` on the PyTorch side, layer for layer those of Engine.Benchmarks/Peers/PeerModels.cs
# (both sides print their parameter counts; `bench_peers.py report` refuses a run where they differ).
import json
import os

import torch
from torch import nn


def mlp_model():
    """MLP 784-512-256-10 (PeerModels.Mlp)."""
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn_model():
    """The main job's CNN (PeerModels.Cnn): conv(1->32,3x3,p1)-ReLU-maxpool2-conv(32->64,3x3,p1)-ReLU-maxpool2-flatten-
    dense(3136->128)-ReLU-dense(128->10)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn_forward_flops(batch):
    return 2.0 * batch * (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10)


RESNET_STAGES = [16, 32, 64]


def resnet_model():
    """CIFAR-style ResNet (PeerModels.ResNet) for [N, 3, 32, 32]: stem conv3x3(3->16, no bias)-BN-ReLU, three stages of two
    basic blocks (conv3x3-BN-ReLU-conv3x3-BN + identity, or conv1x1 stride 2 + BN where the shape changes; ReLU) with
    16/32/64 channels, stages 2 and 3 starting with stride 2; global average pooling; Linear(64, 10)."""
    def conv_bn(cin, cout, k, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.a = conv_bn(cin, cout, 3, stride)
            self.b = conv_bn(cout, cout, 3, 1)
            self.down = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None
            self.relu = nn.ReLU()

        def forward(self, x):
            y = self.b(self.relu(self.a(x)))
            return self.relu(y + (x if self.down is None else self.down(x)))

    layers, cin = [conv_bn(3, 16, 3, 1), nn.ReLU()], 16
    for s, c in enumerate(RESNET_STAGES):
        for b in range(2):
            layers.append(Block(cin, c, 2 if b == 0 and s > 0 else 1))
            cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def resnet_forward_flops(batch):
    macs, cin, side = 32 * 32 * 16 * 3 * 9, 16, 32
    for s, c in enumerate(RESNET_STAGES):
        for b in range(2):
            down = b == 0 and s > 0
            side = side // 2 if down else side
            macs += side * side * c * (cin * 9 + c * 9 + (cin if down or cin != c else 0))
            cin = c
    return 2.0 * batch * (macs + 64 * 10)


def params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# Each model workload: (model builder, input shape, optimizer factory, forward FLOPs); same as ModelWorkloads.cs.
TRAINING_STEPS = {
    "mlp_step": (mlp_model, (128, 784), lambda ps: torch.optim.SGD(ps, lr=0.01),
                 2.0 * 128 * (784 * 512 + 512 * 256 + 256 * 10)),
    "cnn_step": (cnn_model, (64, 1, 28, 28), lambda ps: torch.optim.Adam(ps, lr=1e-3), cnn_forward_flops(64)),
    "cnn_b256": (cnn_model, (256, 1, 28, 28), lambda ps: torch.optim.Adam(ps, lr=1e-3), cnn_forward_flops(256)),
    "resnet_step": (resnet_model, (64, 3, 32, 32), lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
                    resnet_forward_flops(64)),
}
MODELS = {"mlp_step": mlp_model, "cnn_step": cnn_model, "cnn_b256": cnn_model, "resnet_step": resnet_model,
          "infer_b1": cnn_model, "mnist_epoch": cnn_model}


def training_step(name, device="cpu"):
    """One full training step (forward, cross-entropy, backward, update) on fixed random data: (step, flops, params)."""
    build, shape, make_opt, forward = TRAINING_STEPS[name]
    torch.manual_seed(1)
    model = build().to(device)
    model.train()
    opt = make_opt(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(*shape).to(device)
    y = torch.randint(0, 10, (shape[0],)).to(device)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step, 3 * forward, params(model)  # backward ~ twice the forward work


def infer_b1(device="cpu"):
    """The CNN's forward pass on one image in evaluation mode without autograd (latency per image): (step, flops, params)."""
    torch.manual_seed(1)
    model = cnn_model().to(device).eval()
    x = torch.rand(1, 1, 28, 28).to(device)

    def step():
        with torch.inference_mode():
            model(x)

    return step, cnn_forward_flops(1), params(model)


def run_params(args):
    """Parameter count of every model workload, as JSON (the engine's tests compare their models with it)."""
    counts = {name: params(build()) for name, build in MODELS.items()}
    text = json.dumps({"generator": "scripts/bench_peers.py params (PyTorch)", "params": counts}, indent=1) + "\n"
    if args[:1] == ["--write"]:
        os.makedirs(os.path.dirname(args[1]), exist_ok=True)
        with open(args[1] + ".tmp", "w") as f:
            f.write(text)
        os.replace(args[1] + ".tmp", args[1])
    print(text, end="")
