// A graph builder for models that are not a chain: residual connections, concatenation, several inputs or
// outputs, and modules applied more than once with shared weights.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Engine.Nn;

/// <summary>A tensor in a <see cref="GraphModule"/> definition: a graph input or a module's output.</summary>
public sealed class Symbol
{
    internal Symbol(GraphModule owner, int id, string name)
    {
        Owner = owner;
        Id = id;
        Name = name;
    }

    /// <summary>A readable name.</summary>
    public string Name { get; }

    internal GraphModule Owner { get; }

    internal int Id { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// A model defined as a graph of module applications, for what <see cref="Sequential"/> cannot express:
/// <code>
/// var g = new GraphModule();
/// var x = g.Input();
/// var conv = g.Register("conv", new Conv2d(8, 8, 3, padding: 1));
/// var h = g.Apply(new ReLU(), g.Apply(conv, x));
/// var y = g.Apply(conv, h);            // the same weights, used twice
/// g.Output(g.Add(x, y));               // a skip connection
/// </code>
/// Registered modules are named like attributes of a PyTorch module (<c>conv.weight</c>); modules applied
/// without registering are registered under the next free position number.
/// </summary>
public sealed class GraphModule : Module
{
    private readonly List<(Module? Module, Layer? Functional, Symbol[] Inputs, Symbol[] Outputs)> ops = new();
    private readonly List<Symbol> inputs = new();
    private Symbol[] outputs = Array.Empty<Symbol>();
    private int symbols;

    /// <summary>Number of inputs.</summary>
    public int InputCount => inputs.Count;

    /// <summary>Declares the next input of the model.</summary>
    public Symbol Input(string? name = null)
    {
        var s = NewSymbol(name ?? (inputs.Count == 0 ? "input" : $"input{inputs.Count}"));
        inputs.Add(s);
        return s;
    }

    /// <summary>Registers <paramref name="module"/> as a child named <paramref name="name"/> (its state-dict prefix) and returns it.</summary>
    public T Register<T>(string name, T module) where T : Module => AddChild(name, module);

    /// <summary>
    /// Applies a single-output module to <paramref name="args"/>, registering it first unless it is already registered
    /// in this graph's tree (a child, or a descendant of a registered container).
    /// </summary>
    public Symbol Apply(Module module, params Symbol[] args)
    {
        var outs = ApplyMulti(module, 1, args);
        return outs[0];
    }

    /// <summary>Applies a module with <paramref name="outputCount"/> outputs (such as a nested graph with several outputs).</summary>
    public Symbol[] ApplyMulti(Module module, int outputCount, params Symbol[] args)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputCount, 1);
        Check(args);
        // A module registered anywhere below this graph (a child, or a child's child as in `self.layer1[0].conv1(x)`)
        // is applied under its own path; any other is registered as the next free position.
        if (ReferenceEquals(module, this))
        {
            throw new ArgumentException($"{Describe()} cannot apply itself.", nameof(module));
        }

        if (!Walk().Any(w => ReferenceEquals(w.Module, module)))
        {
            AddChild(NextFreeName(), module);
        }

        var outs = Enumerable.Range(0, outputCount).Select(i => NewSymbol($"{module.Describe()}:{symbols}")).ToArray();
        ops.Add((module, null, args, outs));
        return outs;
    }

    /// <summary>Element-wise sum (a skip connection); shapes broadcast as in PyTorch.</summary>
    public Symbol Add(Symbol a, Symbol b) => Functional(new Add(), a, b);

    /// <summary>Element-wise difference a - b; shapes broadcast as in PyTorch.</summary>
    public Symbol Subtract(Symbol a, Symbol b) => Functional(new Subtract(), a, b);

    /// <summary>Element-wise product (a gate, or attention-like scaling such as (N, C, 1, 1) weights on (N, C, H, W) maps); shapes broadcast as in PyTorch.</summary>
    public Symbol Multiply(Symbol a, Symbol b) => Functional(new Multiply(), a, b);

    /// <summary>Element-wise quotient a / b; shapes broadcast as in PyTorch.</summary>
    public Symbol Divide(Symbol a, Symbol b) => Functional(new Divide(), a, b);

    /// <summary>Concatenates tensors along <paramref name="axis"/> (<c>torch.cat</c>).</summary>
    public Symbol Concat(int axis, params Symbol[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return Functional(new Concat(axis, args.Length), args);
    }

    /// <summary>Applies a parameterless layer without registering it (it has no state-dict entries).</summary>
    public Symbol Functional(Layer layer, params Symbol[] args)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.ParameterSpecs.Count > 0 || layer.BufferSpecs.Count > 0)
        {
            throw new ArgumentException($"{layer.Describe()} has parameters; register it with Apply instead.", nameof(layer));
        }

        Check(args);
        var o = NewSymbol($"{layer.Describe()}:{symbols}");
        ops.Add((null, layer, args, [o]));
        return o;
    }

    /// <summary>Sets the model's outputs (the first is the one a loss applies to).</summary>
    public void Output(params Symbol[] results)
    {
        Check(results);
        if (results.Length == 0)
        {
            throw new ArgumentException("A graph needs at least one output.", nameof(results));
        }

        outputs = results;
    }

    /// <inheritdoc />
    public override string Describe() => $"GraphModule({inputs.Count} in, {outputs.Length} out)";

    /// <inheritdoc />
    protected internal override GraphValue[] Build(GraphBuilder builder, GraphValue[] args)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(args);
        if (outputs.Length == 0)
        {
            throw new InvalidOperationException($"{Describe()}: call Output(...) before compiling.");
        }

        if (args.Length != inputs.Count)
        {
            throw new ShapeMismatchException(builder.PathOf(this) ?? "graph", Describe(), args.Select(a => a.Shape).ToList(),
                $"the graph has {inputs.Count} input(s) but was given {args.Length}.");
        }

        var values = new Dictionary<int, GraphValue>();
        for (int i = 0; i < args.Length; i++)
        {
            values[inputs[i].Id] = args[i];
        }

        string? scope = builder.PathOf(this);
        foreach (var (module, functional, ins, outs) in ops)
        {
            var vin = ins.Select(s => values.TryGetValue(s.Id, out var v) ? v
                : throw new InvalidOperationException($"{Describe()}: symbol {s} is used before it is defined.")).ToArray();
            var vout = module is not null ? builder.Call(module, vin) : builder.AddNode(functional!, vin, scope);
            if (vout.Length != outs.Length)
            {
                throw new ShapeMismatchException(builder.PathOf(module ?? functional!) ?? scope ?? "graph", (module ?? functional!).Describe(),
                    vin.Select(v => v.Shape).ToList(), $"it gives {vout.Length} output(s) but the graph uses {outs.Length}.");
            }

            for (int i = 0; i < outs.Length; i++)
            {
                values[outs[i].Id] = vout[i];
            }
        }

        return outputs.Select(o => values.TryGetValue(o.Id, out var v) ? v
            : throw new InvalidOperationException($"{Describe()}: output {o} is never computed.")).ToArray();
    }

    private void Check(Symbol[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        foreach (var s in args)
        {
            ArgumentNullException.ThrowIfNull(s, nameof(args));
            if (!ReferenceEquals(s.Owner, this))
            {
                throw new ArgumentException($"Symbol {s} belongs to another graph.", nameof(args));
            }
        }
    }

    private string NextFreeName()
    {
        int i = Children.Count;
        while (Children.Any(c => c.Name == i.ToString(CultureInfo.InvariantCulture)))
        {
            i++;
        }

        return i.ToString(CultureInfo.InvariantCulture);
    }

    private Symbol NewSymbol(string name) => new(this, symbols++, name);
}
