// The one table of element-wise binary ops (add, subtract, multiply, divide with broadcasting): each row names the op,
// its operator struct and formulas; names, dispatch rows (binary.NAME, binary.NAME_backward) and the docs table
// derive from it.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Engine.Backends.Cpu;
using Engine.Backends.Kernel;
using Engine.Dispatch;
using Engine.Kernels.Elementwise;
using ILGPU;

namespace Engine.Ops;

/// <summary>An element-wise binary op of <see cref="BinaryTable"/>.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,

    /// <summary>a - b.</summary>
    Subtract,

    /// <summary>a * b.</summary>
    Multiply,

    /// <summary>a / b.</summary>
    Divide,
}

/// <summary>An implementation of a broadcast binary forward: y = f(a, b) over <paramref name="length"/> outputs.</summary>
internal delegate void BinaryForwardImpl(Device device, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, in BroadcastParams p, int length);

/// <summary>An implementation of the gradient of one operand x (of <paramref name="length"/> elements) of a broadcast binary op.</summary>
internal delegate void BinaryBackwardImpl(Device device, ArrayView<float> x, ArrayView<float> other, ArrayView<float> dy, ArrayView<float> dx, in BroadcastGradParams p, int length);

/// <summary>One row of <see cref="BinaryTable"/>: the op's name, formulas and dispatch rows.</summary>
public sealed class BinaryDefinition
{
    internal BinaryDefinition(BinaryOp op, string name, string forward, string gradA, string gradB, bool readsOperands, OpRegistry<BinaryForwardImpl> f, OpRegistry<BinaryBackwardImpl> b)
    {
        Op = op;
        Name = name;
        Forward = forward;
        GradA = gradA;
        GradB = gradB;
        GradientReadsOperands = readsOperands;
        ForwardRegistry = f;
        BackwardRegistry = b;
    }

    /// <summary>The op.</summary>
    public BinaryOp Op { get; }

    /// <summary>Its name (<c>multiply</c>); the dispatch rows are <c>binary.NAME</c> and <c>binary.NAME_backward</c>.</summary>
    public string Name { get; }

    /// <summary>y in terms of a and b (docs).</summary>
    public string Forward { get; }

    /// <summary>da before the reduction over a's broadcast dimensions (docs).</summary>
    public string GradA { get; }

    /// <summary>db before the reduction over b's broadcast dimensions (docs).</summary>
    public string GradB { get; }

    /// <summary>Whether the backward reads a and b (multiply, divide), so a graph keeps them.</summary>
    public bool GradientReadsOperands { get; }

    /// <summary>Forward implementations.</summary>
    internal OpRegistry<BinaryForwardImpl> ForwardRegistry { get; }

    /// <summary>Backward implementations (the gradient of one operand).</summary>
    internal OpRegistry<BinaryBackwardImpl> BackwardRegistry { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Every element-wise binary op, in docs order.</summary>
public static class BinaryTable
{
    private static readonly BinaryDefinition[] Rows =
    [
        Row<AddOp>(BinaryOp.Add, "add", "a + b", "g", "g"),
        Row<SubtractOp>(BinaryOp.Subtract, "subtract", "a − b", "g", "−g"),
        Row<MultiplyOp>(BinaryOp.Multiply, "multiply", "a · b", "g · b", "g · a"),
        Row<DivideOp>(BinaryOp.Divide, "divide", "a / b", "g / b", "−g · a / b²"),
    ];

    /// <summary>Every dispatch registry of the binary ops (OpTable finds them through this field).</summary>
    internal static readonly IReadOnlyList<IOpRegistry> Registries = Rows.SelectMany(r => new IOpRegistry[] { r.ForwardRegistry, r.BackwardRegistry }).ToArray();

    /// <summary>Every row, in docs order.</summary>
    public static IReadOnlyList<BinaryDefinition> All => Rows;

    /// <summary>The row of <paramref name="op"/> (rows are in <see cref="BinaryOp"/> order).</summary>
    public static BinaryDefinition Get(BinaryOp op) => (int)op >= 0 && (int)op < Rows.Length
        ? Rows[(int)op] : throw new ArgumentOutOfRangeException(nameof(op), op, "not a binary op; known: add, subtract, multiply, divide.");

    /// <summary>The row named <paramref name="name"/> (<c>multiply</c>).</summary>
    /// <exception cref="ArgumentException">Not a binary op; the message lists them.</exception>
    public static BinaryDefinition Get(string name) => Rows.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"'{name}' is not a binary op; known: {string.Join(", ", Rows.Select(r => r.Name))}.", nameof(name));

    /// <summary>The table as Markdown (docs/ops.md embeds it; a test keeps the two equal).</summary>
    public static string ToMarkdown()
    {
        var sb = new StringBuilder("| op | forward | da (summed over a's broadcast dims) | db (summed over b's broadcast dims) | fixtures / tests |\n| --- | --- | --- | --- | --- |\n");
        foreach (var r in Rows)
        {
            sb.Append($"| {r.Name} | {r.Forward} | {r.GradA} | {r.GradB} | binary.json; Ops/BinaryOpTests |\n");
        }

        return sb.ToString();
    }

    private static BinaryDefinition Row<TOp>(BinaryOp op, string name, string forward, string gradA, string gradB)
        where TOp : struct, IBinaryOperator
    {
        var f = new OpRegistry<BinaryForwardImpl>("binary." + name)
            .Register("kernel.elementwise", ComputePath.Kernels, BinaryLaunchers.Forward<TOp>, $"ILGPU BinaryKernels.Forward<{typeof(TOp).Name}>: one thread per output, collapsed broadcast strides")
            .Register("host.simd", ComputePath.Host, CpuBinary.Forward<TOp>, $"Vector<float> rows of {typeof(TOp).Name} (a broadcast operand as a scalar), rows across cores");
        var b = new OpRegistry<BinaryBackwardImpl>("binary." + name + "_backward")
            .Register("kernel.reduce", ComputePath.Kernels, BinaryLaunchers.Backward<TOp>, "ILGPU: one thread per operand element, summing over its broadcast positions")
            .Register("host.simd", ComputePath.Host, CpuBinary.Backward<TOp>, "Vector<float> rows: accumulated into the operand's rows, or summed per element when the inner dimension is broadcast");
        return new BinaryDefinition(op, name, forward, gradA, gradB, default(TOp).DerivativeReadsOperands, f, b);
    }
}
