// The memory plan's public report: every planned buffer with its offset and lifetime, the arena's peak, and a
// drawing of the lifetimes.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>What a planned buffer holds.</summary>
public enum BufferKind
{
    /// <summary>A model input (written by the caller before forward).</summary>
    Input = 0,

    /// <summary>The loss target.</summary>
    Target = 1,

    /// <summary>An intermediate activation.</summary>
    Activation = 2,

    /// <summary>A model output or the loss.</summary>
    Output = 3,

    /// <summary>The gradient of an activation.</summary>
    Gradient = 4,

    /// <summary>A scratch gradient summed into a gradient after its node's backward.</summary>
    PartialGradient = 5,

    /// <summary>Scratch memory of one node's forward or backward.</summary>
    Workspace = 6,

    /// <summary>Written by a node's forward and read by its backward.</summary>
    Saved = 7,

    /// <summary>The tangent of a value in a forward-mode plan (<see cref="CompileOptions.Tangents"/>).</summary>
    Tangent = 8,
}

/// <summary>One buffer of a <see cref="MemoryPlan"/>: where it lives and during which steps.</summary>
/// <param name="Label">What it is, e.g. <c>3 out</c>, <c>grad 3 out</c>, <c>2 ws0</c>.</param>
/// <param name="Kind">What it holds.</param>
/// <param name="Bytes">Size in bytes.</param>
/// <param name="Offset">Byte offset in the arena.</param>
/// <param name="FirstStep">First step it is live (-1: before forward, written by the caller).</param>
/// <param name="LastStep">Last step it is live (<see cref="MemoryPlan.Steps"/>: until the caller reads it).</param>
public sealed record PlannedBuffer(string Label, BufferKind Kind, long Bytes, long Offset, int FirstStep, int LastStep);

/// <summary>
/// The memory plan of a compiled model: one arena holding every activation, gradient, workspace and saved tensor
/// at planned offsets. Steps are numbered 0..F-1 for the forward nodes and F..F+B-1 for the backward ones.
/// </summary>
public sealed class MemoryPlan
{
    internal MemoryPlan(IReadOnlyList<PlannedBuffer> buffers, IReadOnlyList<string> stepNames, int forwardSteps, long peakBytes)
    {
        Buffers = buffers;
        StepNames = stepNames;
        ForwardSteps = forwardSteps;
        PeakBytes = peakBytes;
    }

    /// <summary>Size of the arena: the most memory the plan ever needs at once for activations, gradients and scratch.</summary>
    public long PeakBytes { get; }

    /// <summary>What the same buffers would take if none shared memory.</summary>
    public long UnsharedBytes => Buffers.Sum(b => b.Bytes);

    /// <summary>The largest total of buffers live in one step: no plan can use less than this.</summary>
    public long LiveBytesLowerBound
    {
        get
        {
            long best = 0;
            for (int s = -1; s <= Steps; s++)
            {
                best = Math.Max(best, Buffers.Where(b => b.FirstStep <= s && s <= b.LastStep).Sum(b => b.Bytes));
            }

            return best;
        }
    }

    /// <summary>Every planned buffer.</summary>
    public IReadOnlyList<PlannedBuffer> Buffers { get; }

    /// <summary>Number of steps (forward nodes, then backward nodes).</summary>
    public int Steps => StepNames.Count;

    /// <summary>Number of forward steps.</summary>
    public int ForwardSteps { get; }

    /// <summary>What runs at each step, e.g. <c>fwd 0</c>, <c>bwd 0</c>.</summary>
    public IReadOnlyList<string> StepNames { get; }

    /// <summary>A table of the buffers with a bar per buffer showing the steps it is live.</summary>
    public override string ToString()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"arena {PeakBytes:N0} bytes (unshared {UnsharedBytes:N0}, lower bound {LiveBytesLowerBound:N0}); steps: {string.Join(" | ", StepNames)}\n");
        int w = Buffers.Count == 0 ? 8 : Math.Max(8, Buffers.Max(b => b.Label.Length));
        foreach (var b in Buffers.OrderBy(b => b.Offset).ThenBy(b => b.FirstStep))
        {
            var bar = new char[Steps + 2];
            for (int s = -1; s <= Steps; s++)
            {
                bar[s + 1] = b.FirstStep <= s && s <= b.LastStep ? '#' : '.';
            }

            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"{b.Label.PadRight(w)} {b.Kind,-15} {b.Offset,12:N0} {b.Bytes,12:N0}  {new string(bar)}\n");
        }

        return sb.ToString();
    }
}
