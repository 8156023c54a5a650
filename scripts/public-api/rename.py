#!/usr/bin/env python3
"""The public names of issue 12, applied mechanically; idempotent, so it can be re-run on code merged later.

1. Ops and layers never share a name (a host with `using Engine.Nn; using Engine.Ops;` compiles): the static class of
   one op in Engine.Ops ends in `Op` (OP_RENAMES: Conv2d -> Conv2dOp, while Engine.Nn.Conv2d stays the layer).
   Families of ops keep plural or family names (Activations, Losses, Reductions, BinaryOps, Elementwise, Views).
2. One casing for acronyms, the .NET guideline (docs/architecture.md, "Names"): an acronym of two letters is upper
   case (LR, LP, CL in OpenCL), a longer one is one word (Relu, Gelu, Elu, Sgd, Rmsprop, Cuda, Cpu); a single letter
   joined to a word keeps its capital (AdamW, NAdam, DType); namespaces name PyTorch's modules (Engine.Nn, Engine.Optim). CASE_RENAMES lists the identifiers that broke it.

Rewritten: identifiers in C# code and in XML-doc crefs (never inside string literals, so PyTorch-style text such as a
summary's "ReLU()" stays), and "Engine.Ops.<old>" in any text. Op names are rewritten where they can only mean the op:
anywhere in Engine/Ops and in files that use Engine.Ops but not Engine.Nn, and elsewhere as `Ops.<old>`, `Engine.Ops.<old>` and `<old>.<Member>` (a layer type has no
static members of those names). In Markdown (README.md, docs/, samples/) only code-shaped uses are rewritten: `new
Relu(`, a backticked name, `Lr = `, `.Lr`, the longer LR names and `<op>.<Member>`; prose and PyTorch's own names
(torch.nn.ReLU, a summary's ReLU row) stay.

usage: scripts/public-api/rename.py   (the compiler then finds anything the rules missed)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

OP_RENAMES = {
    "AvgPool2d": "AvgPool2dOp", "BatchNorm": "BatchNormOp", "Concat": "ConcatOp", "Conv1d": "Conv1dOp",
    "Conv2d": "Conv2dOp", "ConvTranspose2d": "ConvTranspose2dOp", "Dropout": "DropoutOp", "Gemm": "GemmOp",
    "GlobalAvgPool2d": "GlobalAvgPool2dOp", "GlobalMaxPool2d": "GlobalMaxPool2dOp", "LayerNorm": "LayerNormOp",
    "LpPool2d": "LPPool2dOp", "MaxPool2d": "MaxPool2dOp", "Maxout": "MaxoutOp", "MedianPool2d": "MedianPool2dOp",
    "Softmax": "SoftmaxOp",
}

CASE_RENAMES = {
    "ReLU": "Relu", "LeakyReLU": "LeakyRelu", "ELU": "Elu", "GELU": "Gelu",
    # LR (learning rate) is an acronym of two letters, as in StepLR and ReduceLROnPlateau.
    "Lr": "LR", "LrScheduler": "LRScheduler", "LrSchedulerBase": "LRSchedulerBase", "LrSchedules": "LRSchedules",
    "InitialLr": "InitialLR", "LastLr": "LastLR", "SetLr": "SetLR", "MinLrs": "MinLRs", "BaseLrs": "BaseLRs",
    "LrDecay": "LRDecay",
}

# String literals (regular, verbatim, interpolated: the whole literal is skipped) and comments.
TOKEN = re.compile(r'@"(?:[^"]|"")*"|\$?"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)+\'|//[^\n]*|/\*.*?\*/', re.S)
CREF = re.compile(r'cref="[^"]*"')


def sub_code(text, fn):
    """Applies fn to the code between literals and comments, and to the crefs inside comments."""
    out, last = [], 0
    for m in TOKEN.finditer(text):
        out.append(fn(text[last:m.start()]))
        tok = m.group(0)
        out.append(CREF.sub(lambda c: fn(c.group(0)), tok) if tok.startswith("/") else tok)
        last = m.end()
    out.append(fn(text[last:]))
    return "".join(out)


def rename_ops(code, in_ops, methods=frozenset()):
    for old, new in OP_RENAMES.items():
        if in_ops and old not in methods:
            code = re.sub(rf"(?<![\w.]){old}\b(?!\s*=\s*Engine|\s*\()", new, code)
            code = re.sub(rf"(?<=\bOps\.){old}\b", new, code)
        else:
            code = re.sub(rf"(?<=\bOps\.){old}\b", new, code)
            code = re.sub(rf"(?<![\w.]){old}(?=\s*\.\s*[A-Z]\w*)", new, code)
            code = re.sub(rf"(?<![\w.]){old}(?=\s*<)", lambda m: m.group(0), code)
    return code


def rename_case(code):
    for old, new in CASE_RENAMES.items():
        code = re.sub(rf"\b{old}\b", new, code)
    return code


def process(path):
    text = path.read_text()
    rel = path.relative_to(ROOT).as_posix()
    # In Engine/Ops, and in a file that imports Engine.Ops but not Engine.Nn, an op's bare name can only mean the op.
    in_ops = rel.startswith("Engine/Ops/") or (
        re.search(r"^using Engine\.Ops;", text, re.M) is not None and re.search(r"^using Engine\.Nn;", text, re.M) is None
        and not rel.startswith("Engine/Nn/") and re.search(r"^namespace Engine\.Nn\b", text, re.M) is None)
    # An alias that worked around the clash (using Conv2d = Engine.Ops.Conv2d;) is no longer needed.
    new = re.sub(r"^using (\w+) = Engine\.Ops\.(\w+);\n", lambda m: "" if m.group(1) == m.group(2) and m.group(1) in OP_RENAMES else m.group(0), text, flags=re.M)
    # A method of the same name (ActivationExport.Maxout) keeps its name: only `<old>.<Member>` and `Ops.<old>` then.
    methods = frozenset(o for o in OP_RENAMES if re.search(rf"(?<!new )(?<![\w.]){o}\s*\(", text))
    new = sub_code(new, lambda c: rename_case(rename_ops(c, in_ops, methods)))
    for old, repl in OP_RENAMES.items():
        new = re.sub(rf"\bEngine\.Ops\.{old}\b", f"Engine.Ops.{repl}", new)
    if new != text:
        path.write_text(new)
        return True
    return False


def process_markdown(path):
    text = path.read_text()
    new = text
    for old, repl in CASE_RENAMES.items():
        if old == "Lr":
            new = re.sub(r"\bLr(?= = )|(?<=\.)Lr\b", "LR", new)
        elif old.startswith(("ReLU", "LeakyReLU", "ELU", "GELU")):
            new = re.sub(rf"(?<=new ){old}(?=\()|(?<=`){old}(?=[`(])", repl, new)
        else:
            new = re.sub(rf"\b{old}\b", repl, new)
    for old, repl in OP_RENAMES.items():
        new = re.sub(rf"(?<![\w.]){old}(?=\.[A-Z])", repl, new)
        new = re.sub(rf"(?<=Ops\.){old}\b", repl, new)
    if new != text:
        path.write_text(new)
        return True
    return False


def main():
    skip = ("/obj/", "/bin/", "/.cache/", "/artifacts/", "/.git/", "/.gpu/")
    files = [p for p in ROOT.rglob("*.cs") if not any(x in p.as_posix() for x in skip)]
    n = sum(process(p) for p in sorted(files))
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "samples").rglob("*.md"))]
    n += sum(process_markdown(p) for p in docs if p.exists())
    print(f"rename: {n} files changed", file=sys.stderr)


if __name__ == "__main__":
    main()
