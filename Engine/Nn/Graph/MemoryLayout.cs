// What the memory planner produces: a slot per planned tensor (an interval of steps and an offset in the arena,
// or an alias of another slot) and the layout the compiled model binds its tensors from.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>A planned buffer during planning; aliases point at the slot whose memory they use.</summary>
internal sealed class Slot(string label, BufferKind kind, long elements, int start, int end)
{
    public const int Align = 64;

    public string Label { get; } = label;

    public BufferKind Kind { get; } = kind;

    public long Elements { get; } = elements;

    public int Start { get; private set; } = start;

    public int End { get; private set; } = end;

    public long Offset { get; set; } = -1;

    public Slot? Parent { get; init; }

    public Slot Root => Parent?.Root ?? this;

    public long Padded => (Elements + Align - 1) / Align * Align;

    public void Touch(int step)
    {
        var r = Root;
        r.Start = Math.Min(r.Start, step);
        r.End = Math.Max(r.End, step);
    }
}

/// <summary>Where each tensor of a compiled model lives.</summary>
internal sealed class MemoryLayout
{
    public required Slot?[] Values { get; init; }

    public required Slot?[] Grads { get; init; }

    public required Slot?[][] Workspaces { get; init; }

    public required Slot?[][] Saved { get; init; }

    /// <summary>Per node and input: the partial slot the layer writes instead of the gradient, or null.</summary>
    public required Slot?[][] PartialInputGrads { get; init; }

    /// <summary>Per node and input: whether the layer adds into the gradient (true) or overwrites it.</summary>
    public required bool[][] AccumulateInput { get; init; }

    /// <summary>Per node and parameter: partial slot, or null.</summary>
    public required Slot?[][] PartialParamGrads { get; init; }

    /// <summary>Per node and parameter: whether the layer adds into the parameter gradient.</summary>
    public required bool[][] AccumulateParam { get; init; }

    /// <summary>Per node: an alias node whose input gradient is its output gradient's memory (backward does nothing).</summary>
    public required bool[] AliasedBackward { get; init; }

    public required long ArenaElements { get; init; }

    public required MemoryPlan Report { get; init; }
}
