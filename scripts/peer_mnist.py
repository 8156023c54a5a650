# `mnist_epoch` / `mnist_rss` of `./build.sh bench-peers` on the PyTorch side: one epoch of the main job's recipe over
# the real digits, read from the same IDX files as the engine (numpy, no torchvision), and the process's peak RSS.
import gzip
import os
import struct
import time

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn

from peer_models import cnn_model, params

EPOCH_WORKLOADS = ["mnist_epoch", "mnist_rss"]

MNIST_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


def _read_idx(path, rank):
    """An IDX file of unsigned bytes (plain or .gz) as a numpy array, its header checked as the engine's reader does."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, kind, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08 or dims != rank:
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes with {rank} dimensions")
    shape = struct.unpack(f">{dims}I", data[4:4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise SystemExit(f"{path}: {body.size} bytes of data, the header says {shape}")
    return body.reshape(shape)


def _mnist_file(directory, name):
    for n in (name, name + ".gz"):
        if os.path.exists(os.path.join(directory, n)):
            return os.path.join(directory, n)
    return None


def mnist_epoch(directory):
    """One epoch of the main job's recipe (MnistEpoch.cs): the CNN, batch 32, Adam lr 0.002 with a per-step cosine
    decay over 8 epochs (this is the first), cross-entropy, each training image shifted at random by up to 2 pixels
    (zeros shifted in) and normalized with the training set's mean and deviation, reshuffled with seed 1. The digits
    stay a uint8 tensor (as the engine keeps bytes); each batch is converted to float32, shifted and normalized.
    Returns (seconds, steps, mean training loss, parameters)."""
    t0 = time.perf_counter()
    images = torch.from_numpy(_read_idx(_mnist_file(directory, MNIST_TRAIN[0]), 3).copy())   # [60000, 28, 28] uint8
    labels = torch.from_numpy(_read_idx(_mnist_file(directory, MNIST_TRAIN[1]), 1).astype("int64"))
    # Mean and deviation of pixel / 255 over the training set, from the byte histogram (exact, no float copy).
    hist = torch.bincount(images.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64) / 255
    mean = float((hist * values).sum() / hist.sum())
    std = float(((hist * values * values).sum() / hist.sum() - mean * mean).sqrt())
    torch.manual_seed(1)
    model = cnn_model()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.002)
    batch, count, shift = 32, images.shape[0], 2
    batches = count // batch + (count % batch > 0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=batches * 8)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    order = torch.randperm(count, generator=gen)
    grid = torch.arange(28)
    total, steps = 0.0, 0
    for first in range(0, count, batch):
        idx = order[first:first + batch]
        n = idx.numel()
        x = F.pad(images[idx].float().div_(255), (shift, shift, shift, shift))        # [n, 32, 32], zero border
        dy = torch.randint(-shift, shift + 1, (n,), generator=gen)
        dx = torch.randint(-shift, shift + 1, (n,), generator=gen)
        rows = (grid[None, :] + shift - dy[:, None])[:, :, None]                      # out[y, x] = in[y - dy, x - dx]
        cols = (grid[None, :] + shift - dx[:, None])[:, None, :]
        x = x[torch.arange(n)[:, None, None], rows, cols].sub_(mean).div_(std).unsqueeze(1)
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), labels[idx])
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * n
        steps += 1
    return time.perf_counter() - t0, steps, total / count, params(model)


def status_bytes(field="VmHWM:"):
    """This process's peak resident set (VmHWM of /proc/self/status; VmRSS: now) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return -1


def run_epoch(names, data):
    """Runs the epoch workloads NAMES (alone in this process) and prints their lines."""
    if any(n not in EPOCH_WORKLOADS for n in names):
        raise SystemExit(f"{' and '.join(EPOCH_WORKLOADS)} run in a process of their own (their peak memory must be the "
                         f"epoch's); got: {' '.join(names)}")
    missing = [n for n in MNIST_TRAIN if _mnist_file(data, n) is None]
    if missing:
        for name in names:
            print(f"unavailable side=torch workload={name} reason=MNIST training files missing in "
                  f"'{os.path.abspath(data)}': {', '.join(missing)} (./build.sh bench-peers fetches them as ./build.sh "
                  f"train does)", flush=True)
        return
    before = status_bytes("VmRSS:")   # the interpreter and torch, before the epoch
    cpu0 = time.process_time()
    seconds, steps, loss, count = mnist_epoch(data)
    cpu_ms = (time.process_time() - cpu0) * 1e3
    rss = status_bytes("VmHWM:")
    print(f"info side=torch workload=mnist_epoch params={count} steps={steps} train_loss={loss:.4f}", flush=True)
    for name in dict.fromkeys(names):
        if name == "mnist_epoch":
            print(f"result side=torch workload=mnist_epoch median_ms={seconds * 1e3:.1f} min_ms={seconds * 1e3:.1f} reps=1 "
                  f"flops=0 gflops=0 cpu_ms={cpu_ms:.1f}", flush=True)
        else:
            print(f"rss side=torch workload=mnist_rss peak_bytes={rss} before_epoch_bytes={before}", flush=True)
