#!/usr/bin/python3
"""Checks ONNX files the engine exported with ONNX's own tooling (Debian's python3-onnx 1.12, the library PyTorch's
exporter builds on): onnx.checker.check_model with full_check (the schema of every node at the file's opset, then
strict shape inference), and that the inferred output shapes agree with the shapes the file declares.

  /usr/bin/python3 scripts/onnx_check.py FILE.onnx [FILE.onnx ...]

Prints "OK FILE (opset N, K nodes)" per file and exits 0, or prints what ONNX reports and exits 1.
Engine.Tests/Onnx/OnnxCheckerTests runs it on every export test model.
"""
import sys

try:
    import onnx
    from onnx import shape_inference
except ImportError as e:
    sys.exit(f"python3-onnx is missing ({e}); install it: apt-get update && apt-get install -y python3-onnx")


def dims(value_info):
    """A value's declared dimensions: an int, a symbolic name, or None when unknown."""
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in value_info.type.tensor_type.shape.dim]


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in model.graph.output:
        want, got = dims(out), dims(known[out.name])
        if len(want) != len(got) or any(w is not None and g is not None and w != g for w, g in zip(want, got)):
            raise ValueError(f"output '{out.name}' declared {want}, inferred {got}")
    return f"opset {model.opset_import[0].version}, {len(model.graph.node)} nodes"


def main(paths):
    if not paths:
        sys.exit(__doc__)
    failed = 0
    for path in paths:
        try:
            print(f"OK {path} ({check(path)})")
        except Exception as e:  # every failure is reported with its file, then the exit code says it
            print(f"FAIL {path}: {type(e).__name__}: {e}")
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
