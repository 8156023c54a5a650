#!/usr/bin/env python3
"""Narrow Engine.dll's public API by rule (issue 12, "a deliberate public API"); idempotent, so it can be re-run on
code merged later. What a host does not need becomes internal (Engine.Tests and Engine.Benchmarks see it through
InternalsVisibleTo):

  1. every type under Engine/Backends (the backends are the engine's inside; ops dispatch to them);
  2. every `*Impl` delegate (an op's implementation signature) and OpRegistry<T> (the dispatch table itself: a host
     cannot rewire dispatch; it lists variants through IOpRegistry/OpTable);
  3. outside Engine/Backends, every public member of a public type whose declaration names an `*Impl` delegate, an
     OpRegistry<...>, a type of Engine/Backends, an ILGPU ArrayView or MemoryBuffer, or is a `Launch*`/`RunHost*`
     method: the registries, their implementations and what they take;
  4. the members listed in EXTRA below (found by the compiler: members whose types became internal, and the
     ILGPU-typed members of the core that Engine.Interop.IlgpuInterop re-exports for hosts).

usage: scripts/public-api/internalize.py   (then ./build.sh api to regenerate the PublicAPI files)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENGINE = ROOT / "Engine"

TYPE_DECL = re.compile(
    r"^(\s*)public\s+((?:(?:static|sealed|abstract|readonly|unsafe|partial|ref|record)\s+)*)"
    r"(class|struct|interface|enum|delegate|record)\b")
MEMBER = re.compile(r"^(\s*)public\s+(?!(?:(?:static|sealed|abstract|readonly|unsafe|partial|ref|record)\s+)*"
                    r"(?:class|struct|interface|enum|delegate|record)\b)")
MEMBER_HIT = re.compile(r"\b\w+Impl\b|\bOpRegistry<|\bArrayView(?:1D)?<|\bMemoryBuffer1D<|"
                        r"\s(?:Launch|RunHost)\w*\s*[(<]")

# (file relative to Engine/, regular expression of the declaration line): made internal as well.
EXTRA = [
    # ILGPU in the core: re-exported for hosts by Engine/Devices/IlgpuInterop.cs (namespace Engine.Interop).
    ("Devices/Device.cs", r"static Context Context\b|\bAccelerator Accelerator\b|\bAcceleratorStream (Stream|CreateStream)\b"),
    ("Devices/KernelCache.cs", r"\bTDelegate Get<"),
    ("Memory/CachingAllocator.cs", r"\bCachingAllocator\(Accelerator "),
    # Left with no public member by the rules above: the optimizer kernels' argument block and the reduction registry.
    ("Optim/OptimStep.cs", r"\bstruct OptimStepArgs\b"),
    ("Ops/Reductions.cs", r"\bclass Reductions\b"),
]


def backend_types():
    """Names of the top-level types declared under Engine/Backends."""
    names = set()
    for p in (ENGINE / "Backends").rglob("*.cs"):
        for m in re.finditer(r"^(?:public|internal)\s+(?:(?:static|sealed|abstract|readonly|unsafe|partial|ref)\s+)*"
                             r"(?:(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+(\w+)|delegate\s+[\w<>\[\]?]+\s+(\w+)\s*[(<])",
                             p.read_text(), re.M):
            names.add(m.group(1) or m.group(2))
    return names


def declaration(lines, i):
    """The declaration starting at line i, up to its body, arrow or semicolon (at most 10 lines)."""
    text = ""
    for j in range(i, min(i + 10, len(lines))):
        text += " " + lines[j].strip()
        if re.search(r"[{;]|=>", lines[j]):
            break
    return text


def process(path, member_hit):
    rel = path.relative_to(ENGINE).as_posix()
    lines = path.read_text().split("\n")
    changed = False
    in_backends = rel.startswith("Backends/")
    extra = [re.compile(rx) for f, rx in EXTRA if f == rel]
    frames = []          # brace frames: True/False for a type body (public or not), None for any other block
    pending = None       # accessibility of a type declared on an earlier line whose "{" has not come yet
    for i, line in enumerate(lines):
        new = line
        visible = all(f is not False for f in frames)
        t = TYPE_DECL.match(line)
        if t:
            is_impl = t.group(3) == "delegate" and re.search(r"\b\w+Impl\s*[(<]", line)
            is_registry = re.search(r"\bclass\s+OpRegistry<", line)
            if in_backends or is_impl or is_registry:
                new = line.replace("public ", "internal ", 1)
        elif MEMBER.match(line) and visible and not in_backends:
            if member_hit.search(declaration(lines, i)):
                new = line.replace("public ", "internal ", 1)
        if new == line and extra and line.lstrip().startswith("public ") and any(rx.search(line) for rx in extra):
            new = line.replace("public ", "internal ", 1)
        if new != line:
            lines[i] = new
            changed = True
        code = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|//.*', "", new)
        decl = re.match(r"^\s*((?:\w+\s+)*)(class|struct|interface|enum|record)\s+\w+", code)
        if decl and not re.match(r"^\s*(?:\w+\s+)*(?:new|return|using|var)\b", code):
            pending = "public" in decl.group(1).split() and "private" not in decl.group(1).split()
        for ch in code:
            if ch == "{":
                frames.append(pending)
                pending = None
            elif ch == "}" and frames:
                frames.pop()
        if pending is not None and code.rstrip().endswith(";"):
            pending = None
    if changed:
        path.write_text("\n".join(lines))
    return changed


def main():
    names = sorted(backend_types())
    member_hit = re.compile(MEMBER_HIT.pattern + "|\\b(?:" + "|".join(names) + ")\\b")
    n = sum(process(p, member_hit) for p in sorted(ENGINE.rglob("*.cs")) if "/obj/" not in p.as_posix() and "/bin/" not in p.as_posix())
    print(f"internalize: {n} files changed", file=sys.stderr)


if __name__ == "__main__":
    main()
