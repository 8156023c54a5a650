#!/usr/bin/env python3
# PyTorch side of `./build.sh bench-peers`: times the same workloads as the engine, and turns both logs into the table.
"""Usage:
  bench_peers.py torch [--seconds S] [--threads T] [--onednn] [--device D] [--tf32 on|off] [--memory] [--data DIR] WORKLOAD...
      time WORKLOAD(s) on PyTorch (float32, CPU unless --device cuda); print one `result side=torch ...` line each
      (with --onednn, GEMMs also through oneDNN's matmul as side=torch-onednn; on CUDA, --tf32 on lets cuBLAS and
      cuDNN use TF32 and names the side torch-tf32; --memory adds `memory side=... peak_bytes=..` on CUDA); a model
      workload also prints `info side=torch workload=NAME params=N`. mnist_epoch and mnist_rss (digits from --data DIR,
      default .cache/mnist-data) run alone in their process: one epoch timed once, and `rss ... peak_bytes=` (VmHWM)
  bench_peers.py params [--write FILE]
      the parameter count of every model workload as JSON (Engine.Tests/Fixtures/peers/params.json is written with it)
  bench_peers.py blas [--threads T]
      print which BLAS library torch's matmul runs in (shared objects mapped into this process after a matmul,
      and threadpoolctl's view when it is installed) and torch.mm's GFLOP/s on 1024 x 1024, as `info side=torch-blas`
  bench_peers.py gpu-report LOG
      the GPU run's table (scripts/gpu/gpu.sh): engine against torch with TF32 off and on, GFLOP/s and peak memory
  bench_peers.py report LOG
      read the `info`, `peak`, `result` and `unavailable` lines of LOG (both sides, any number of rounds) and print
      the side-by-side table and one `ratio NAME X` line per workload, X = engine time / PyTorch time (mnist_rss:
      engine peak bytes / PyTorch peak bytes); it fails if the two sides' parameter counts of a workload differ

Each side warms a workload up (at least 5 runs and 2 s, so that the engine's JIT has reached its final code; at most
20 s once 3 runs are done), then runs it for about S seconds (3 to 1000 runs) and reports the median. With several rounds in LOG, each side's best round median counts (the least
disturbed on a shared machine), and the FMA peak is the best of the `peak` lines. mnist_epoch runs once per round
(no warm-up: the epoch is the workload) and mnist_rss takes each side's least peak over the rounds.
"""
import os
import statistics
import sys
import time

WORKLOADS = ["gemm256", "gemm512", "gemm1024", "gemm2048", "mlp_step", "cnn_step", "cnn_b256", "resnet_step",
             "infer_b1", "mnist_epoch", "mnist_rss"]
EPOCH_WORKLOADS = ["mnist_epoch", "mnist_rss"]   # peer_mnist.py: one epoch in a process of its own
# The unit each workload's time is shown in by `report` (the default: ms per run).
UNITS = {"mlp_step": "ms/step", "cnn_step": "ms/step", "cnn_b256": "ms/step", "resnet_step": "ms/step",
         "infer_b1": "ms/image", "mnist_epoch": "s/epoch", "mnist_rss": "MB peak RSS"}


def _gemm(n, onednn, device="cpu"):
    import torch

    g = torch.Generator().manual_seed(1)
    a = torch.rand(n, n, generator=g).to(device)
    b = torch.rand(n, n, generator=g).to(device)
    flops = 2.0 * n ** 3
    if onednn:
        # oneDNN's inner product computes x @ w^T: pass B transposed, both in oneDNN's layout.
        am = a.to_mkldnn()
        bt = b.t().contiguous().to_mkldnn()
        return (lambda: torch._C._nn.mkldnn_linear(am, bt, None)), flops, 0
    c = torch.empty(n, n, device=device)
    return (lambda: torch.mm(a, b, out=c)), flops, 0


def _make(name, onednn=False, device="cpu"):
    if name.startswith("gemm") and name[4:].isdigit():
        return _gemm(int(name[4:]), onednn, device)
    if onednn:
        return None
    import peer_models

    if name in peer_models.TRAINING_STEPS:
        return peer_models.training_step(name, device)
    if name == "infer_b1":
        return peer_models.infer_b1(device)
    raise SystemExit(f"unknown workload '{name}'; known: {' '.join(WORKLOADS)}")


def _time(step, seconds, sync=None):
    if sync is not None:
        # A GPU step is queued work: each timed run waits for it (the engine's steps synchronize too).
        unsynced = step

        def step():
            unsynced()
            sync()

    t0 = time.perf_counter()
    warm = 0
    while warm < 3 or ((warm < 5 or time.perf_counter() - t0 < 2) and time.perf_counter() - t0 < 20):
        step()
        warm += 1
    each = (time.perf_counter() - t0) / warm
    reps = int(min(1000, max(3, seconds / each)))
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def run_blas(args):
    # Which BLAS does torch.mm call? Debian's torch is built with BLAS_INFO=generic: libblas.so.3, i.e. whichever
    # library update-alternatives points it to (the reference BLAS, OpenBLAS, BLIS, ...).
    import re

    import torch

    threads = os.cpu_count() or 1
    it = iter(args)
    for a in it:
        if a == "--threads":
            threads = int(next(it))
    torch.set_num_threads(threads)
    n = 1024
    a, b, c = torch.rand(n, n), torch.rand(n, n), torch.empty(n, n)
    torch.mm(a, b, out=c)
    with open("/proc/self/maps") as f:
        maps = f.read()
    libs = sorted(set(re.findall(r"(/\S*(?:blas|lapack|mkl|blis)\S*)", maps)))
    real = [os.path.realpath(x) for x in libs]
    kind = ("openblas" if any("openblas" in x for x in real) else "mkl" if any("mkl" in x for x in real)
            else "blis" if any("blis" in x for x in real) else "reference" if any("blas" in x for x in real) else "none")
    times = _time(lambda: torch.mm(a, b, out=c), 1.0)
    med = statistics.median(times)
    print(f"info side=torch-blas kind={kind} torch_threads={torch.get_num_threads()} "
          f"matmul1024_ms={med:.3f} matmul1024_gflops={2.0 * n ** 3 / med / 1e6:.1f} libs={','.join(real) or '-'}", flush=True)
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            print("info side=torch-blas threadpoolctl " + " ".join(
                f"{k}={str(v).replace(' ', '_')}" for k, v in info.items() if k != "filepath"), flush=True)
    except ImportError:
        pass
    if kind in ("reference", "none"):
        print("info side=torch-blas WARNING=torch's_matmul_is_not_on_a_tuned_BLAS:_GEMM_ratios_are_meaningless", flush=True)


def run_torch(args):
    import torch

    seconds, threads, onednn, names = 1.0, os.cpu_count() or 1, False, []
    device, tf32, memory, data = "cpu", "off", False, ".cache/mnist-data"
    it = iter(args)
    for a in it:
        if a == "--seconds":
            seconds = float(next(it))
        elif a == "--threads":
            threads = int(next(it))
        elif a == "--onednn":
            onednn = True
        elif a == "--device":
            device = next(it)
        elif a == "--tf32":
            tf32 = next(it)
        elif a == "--memory":
            memory = True
        elif a == "--data":
            data = next(it)
        else:
            names.append(a)
    cuda = device.startswith("cuda")
    torch.set_num_threads(threads)
    torch.set_grad_enabled(True)
    base = "torch"
    sync = None
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = tf32 == "on"
        torch.backends.cudnn.allow_tf32 = tf32 == "on"
        base = "torch-tf32" if tf32 == "on" else "torch"
        sync = torch.cuda.synchronize
        onednn = False
    print(f"info side={base} version={torch.__version__} threads={torch.get_num_threads()} device={device} "
          f"gpu={torch.cuda.get_device_name(0).replace(' ', '_') if cuda else '-'} tf32={tf32 if cuda else '-'} "
          f"mkldnn={int(torch.backends.mkldnn.is_available())}", flush=True)
    if any(n in EPOCH_WORKLOADS for n in names):
        import peer_mnist

        return peer_mnist.run_epoch(names, data)
    for name in names:
        for side, use_onednn in ((base, False), ("torch-onednn", True)):
            if use_onednn and not (onednn and torch.backends.mkldnn.is_available()):
                continue
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                before = torch.cuda.memory_allocated()
            made = _make(name, use_onednn, device)
            if made is None:
                continue
            step, flops, count = made
            if count and side == base:
                print(f"info side={base} workload={name} params={count}", flush=True)
            times = _time(step, seconds, sync)
            med = statistics.median(times)
            print(f"result side={side} workload={name} median_ms={med:.4f} min_ms={min(times):.4f} reps={len(times)} "
                  f"flops={flops:.0f} gflops={flops / med / 1e6:.1f}", flush=True)
            if memory and cuda:
                print(f"memory side={side} workload={name} peak_bytes={torch.cuda.max_memory_allocated() - before} "
                      f"reserved_bytes={torch.cuda.memory_reserved()}", flush=True)
            del step
            if cuda:
                torch.cuda.empty_cache()

def _fields(line):
    head, _, rest = line.partition(" ")
    out = {}
    for tok in rest.split(" "):
        k, eq, v = tok.partition("=")
        if eq:
            out[k] = v
        if k == "reason":
            out[k] = rest.split("reason=", 1)[1]
            break
    return head, out


def _read(path):
    """The lines of a peers log: best (side, workload) -> (median ms, flops), peak memory, least peak RSS, parameter
    counts, missing, peaks, infos."""
    log = {"best": {}, "memory": {}, "rss": {}, "rss_before": {}, "params": {}, "missing": {}, "peaks": [], "infos": [], "order": []}
    with open(path) as f:
        for line in f:
            kind, kv = _fields(line.strip())
            if kind in ("result", "memory", "rss", "unavailable") and kv["workload"] not in log["order"]:
                log["order"].append(kv["workload"])
            if kind == "result":
                key = (kv["side"], kv["workload"])
                ms = float(kv["median_ms"])
                if key not in log["best"] or ms < log["best"][key][0]:
                    log["best"][key] = (ms, float(kv["flops"]))
            elif kind == "memory":
                log["memory"][(kv["side"], kv["workload"])] = int(kv["peak_bytes"])
            elif kind == "rss":
                key = (kv["side"], kv["workload"])
                log["rss"][key] = min(log["rss"].get(key, int(kv["peak_bytes"])), int(kv["peak_bytes"]))
                if "before_epoch_bytes" in kv:
                    log["rss_before"][key] = int(kv["before_epoch_bytes"])
            elif kind == "unavailable":
                log["missing"][(kv["side"], kv["workload"])] = kv.get("reason", "")
            elif kind == "peak":
                log["peaks"].append((float(kv["gflops"]), float(kv["single_thread_gflops"])))
            elif kind in ("info", "load"):
                log["infos"].append(line.strip())
                if kind == "info" and "params" in kv and "workload" in kv:
                    side = "torch" if kv["side"].startswith("torch") else kv["side"]
                    log["params"].setdefault((side, kv["workload"]), set()).add(int(kv["params"]))
    return log


def _header(hdr):
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(hdr))) + "|")


def _ms(x):
    return f"{x[0]:.3f}" if x else "-"


def _gf(x, digits=1):
    return f"{x[1] / x[0] / 1e6:.{digits}f}" if x else "-"


def _check_params(log):
    """Fails loudly when the two sides' models of a workload differ in parameter count, or when both sides ran it and
    only one printed its count."""
    counts, ran = log["params"], set(log["best"]) | set(log["rss"])
    bad = []
    for w in sorted({w for _, w in counts}):
        e, t = counts.get(("engine", w)), counts.get(("torch", w))
        both_ran = ("engine", w) in ran and any(k == ("torch", w) or k == ("torch-tf32", w) for k in ran)
        if (e and t and e != t) or (both_ran and (e is None) != (t is None)):
            bad.append(f"{w}: engine {sorted(e) if e else 'none'} vs torch {sorted(t) if t else 'none'}")
    if bad:
        raise SystemExit("error: the engine's and PyTorch's models differ in parameter count, so their times do not "
                         "compare: " + "; ".join(bad))


def _shown(w, x):
    """A best result in the workload's unit: ms (per run, step or image), or s per epoch."""
    if not x:
        return "-"
    return f"{x[0] / 1e3:.1f}" if UNITS.get(w) == "s/epoch" else f"{x[0]:.3f}"


def report(path):
    log = _read(path)
    best, missing, peaks, infos, order = log["best"], log["missing"], log["peaks"], log["infos"], log["order"]
    for i in dict.fromkeys(infos):
        print(i)
    peak = max(p[0] for p in peaks) if peaks else None
    if peak:
        print(f"FMA peak, all cores: {peak:.1f} GFLOP/s (best of {len(peaks)} measurements: "
              f"{', '.join(f'{p[0]:.0f}' for p in peaks)}); one thread: {max(p[1] for p in peaks):.1f} GFLOP/s")
    _check_params(log)
    hdr = ["workload", "unit", "engine", "torch", "engine GFLOP/s", "torch GFLOP/s", "engine % of FMA peak",
           "engine/torch", "torch-oneDNN ms", "engine/oneDNN"]
    _header(hdr)
    ratios, notes = [], []
    for w in order:
        unit = UNITS.get(w, "ms")
        if w == "mnist_rss":
            # Peak resident memory of the process that ran one epoch (each side's least over the rounds).
            e, t = log["rss"].get(("engine", w)), log["rss"].get(("torch", w))
            ratio = f"{e / t:.3f}" if e and t else "n/a"
            mb = (lambda b: f"{b / 1e6:.1f}" if b else "-")
            print(f"| {w} | {unit} | {mb(e)} | {mb(t)} | - | - | - | {ratio} | - | - |")
            b = log["rss_before"]
            notes.append(f"note: mnist_rss: resident before the epoch (runtime, libraries, opened device): engine "
                         f"{mb(b.get(('engine', w)))} MB, torch {mb(b.get(('torch', w)))} MB")
            ratios.append(f"ratio {w} {ratio}")
            continue
        e, t, d = best.get(("engine", w)), best.get(("torch", w)), best.get(("torch-onednn", w))
        has_flops = bool(e and e[1]) or bool(t and t[1])
        frac = f"{100 * e[1] / e[0] / 1e6 / peak:.0f}%" if e and e[1] and peak else "-"
        ratio = f"{e[0] / t[0]:.3f}" if e and t else "n/a"
        rd = f"{e[0] / d[0]:.3f}" if e and d else "-"
        ecol = _shown(w, e) if e else ("not yet available" if ("engine", w) in missing else "-")
        egf, tgf = (_gf(e), _gf(t)) if has_flops else ("-", "-")
        print(f"| {w} | {unit} | {ecol} | {_shown(w, t)} | {egf} | {tgf} | {frac} | {ratio} | {_ms(d)} | {rd} |")
        ratios.append(f"ratio {w} {ratio}")
    for (side, w), why in sorted(missing.items()):
        notes.append(f"note: {side} {w}: {why}")
    print("\n".join(notes + ratios))


def gpu_report(path):
    log = _read(path)
    best, memory, order = log["best"], log["memory"], log["order"]
    infos = log["infos"] + [f"unavailable side={k[0]} workload={k[1]} reason={v}" for k, v in log["missing"].items()]
    for i in dict.fromkeys(infos):
        print(f"    {i}")
    print()
    hdr = ["workload", "engine ms", "torch ms (TF32 off)", "torch ms (TF32 on)", "engine/torch", "engine/torch-TF32",
           "engine GFLOP/s", "torch GFLOP/s", "engine peak MiB", "torch peak MiB"]
    _header(hdr)
    ratios = []
    ms = _ms
    for w in order:
        e, t, t32 = best.get(("engine", w)), best.get(("torch", w)), best.get(("torch-tf32", w))

        def gf(x):
            return _gf(x, 0)

        def mib(side):
            b = memory.get((side, w))
            return f"{b / 2 ** 20:.1f}" if b is not None else "-"

        r = f"{e[0] / t[0]:.3f}" if e and t else "n/a"
        r32 = f"{e[0] / t32[0]:.3f}" if e and t32 else "-"
        print(f"| {w} | {ms(e)} | {ms(t)} | {ms(t32)} | {r} | {r32} | {gf(e)} | {gf(t)} | {mib('engine')} | {mib('torch')} |")
        ratios.append(f"ratio {w} {r}")
    print()
    print("\n".join(ratios))


def main(argv):
    if len(argv) < 2 or argv[1] not in ("torch", "blas", "params", "report", "gpu-report"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "torch":
        run_torch(argv[2:])
    elif argv[1] == "blas":
        run_blas(argv[2:])
    elif argv[1] == "params":
        import peer_models

        peer_models.run_params(argv[2:])
    elif argv[1] == "gpu-report":
        gpu_report(argv[2])
    else:
        report(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
