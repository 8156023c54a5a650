// Sequential: a chain of modules named 0, 1, 2, ... as in torch.nn.Sequential; Residual: x + chain(x).
using System;
using System.Linq;

namespace Engine.Nn;

/// <summary>
/// Runs its modules one after the other, each on the previous one's output, like <c>torch.nn.Sequential</c>.
/// Children are named by position, so parameters are <c>0.weight</c>, <c>3.1.bias</c>, ...
/// </summary>
public sealed class Sequential : Module
{
    /// <summary>Creates the chain.</summary>
    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules)
        {
            Append(m);
        }
    }

    /// <summary>Number of modules.</summary>
    public int Count => Children.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => Children[index].Module;

    /// <summary>Appends a module (named by its position).</summary>
    public Sequential Append(Module module)
    {
        AddChild(Children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        return this;
    }

    /// <summary>
    /// Puts <paramref name="module"/> at <paramref name="index"/> (negative counts from the end: -1 is the last module, the
    /// head) and returns the module it replaces; its parameters keep the position's names (<c>5.weight</c>). With
    /// <see cref="Module.Freeze"/> on the others and a partial weight load this is fine-tuning on a new head:
    /// <code>
    /// model.Replace(-1, new Linear(128, 2));
    /// model.Freeze(); model[^1].Unfreeze();
    /// using var net = model.Compile(device, shape, loss);
    /// net.LoadWeights(path, new WeightLoadOptions { Strict = false, SkipMismatchedShapes = true });
    /// </code>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No module at that index.</exception>
    public Module Replace(int index, Module module)
    {
        int i = index < 0 ? Count + index : index;
        ArgumentOutOfRangeException.ThrowIfNegative(i, nameof(index));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, Count, nameof(index));
        return ReplaceChild(Children[i].Name, module);
    }

    /// <inheritdoc />
    public override string Describe() => $"Sequential({Children.Count})";

    /// <inheritdoc />
    protected internal override GraphValue[] Build(GraphBuilder builder, GraphValue[] inputs)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var x = inputs;
        foreach (var (_, m) in Children)
        {
            x = builder.Call(m, x);
        }

        return x;
    }
}

/// <summary>
/// A residual block: <c>output = input + body(input)</c>, where the body is its modules in sequence (named
/// 0, 1, ... like a <see cref="Sequential"/>, so a residual at index I has parameters <c>I.J.weight</c>). The
/// body must keep the input's shape.
/// </summary>
public sealed class Residual : Module
{
    /// <summary>Creates the block.</summary>
    public Residual(params Module[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Length == 0)
        {
            throw new ArgumentException("A residual block needs at least one module.", nameof(body));
        }

        for (int i = 0; i < body.Length; i++)
        {
            AddChild(i.ToString(System.Globalization.CultureInfo.InvariantCulture), body[i]);
        }
    }

    /// <inheritdoc />
    public override string Describe() => $"Residual({Children.Count})";

    /// <inheritdoc />
    protected internal override GraphValue[] Build(GraphBuilder builder, GraphValue[] inputs)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs;
        foreach (var (_, m) in Children)
        {
            x = builder.Call(m, x);
        }

        if (inputs.Length != 1 || x.Length != 1)
        {
            throw new ShapeMismatchException(builder.PathOf(this) ?? "residual", Describe(), inputs.Select(v => v.Shape).ToList(),
                "a residual block takes one input and its body must give one output.");
        }

        return builder.AddNode(new Add(), [inputs[0], x[0]], builder.PathOf(this));
    }
}
