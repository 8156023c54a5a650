// Activation layers (ReLU, GELU, Softmax, Maxout, ...) over the activation ops of Engine.Ops.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Engine.Kernels.Activations;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// An activation layer running an <see cref="IActivationOp"/> (elementwise, softmax, log-softmax or maxout). The
/// named subclasses (<see cref="Relu"/>, <see cref="Gelu"/>, ...) are the usual way to write one; this class takes
/// any op, e.g. from <see cref="ActivationTable.Parse"/>.
/// </summary>
public class Activation : Layer
{
    /// <summary>Creates the layer.</summary>
    public Activation(IActivationOp op) => Op = op ?? throw new ArgumentNullException(nameof(op));

    /// <summary>The op.</summary>
    public IActivationOp Op { get; }

    /// <summary>
    /// An activation by its op name and settings, as in docs/ops.md's activation table: <c>Named("leaky_relu", ("alpha", 0.1))</c>,
    /// <c>Named("gelu", ("approximate", "tanh"))</c>, <c>Named("mish")</c>, <c>Named("softmax", ("axis", 1))</c>, <c>Named("maxout", ("pieces", 2))</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name or setting, or a bad value; the message says which.</exception>
    public static Activation Named(string name, params (string Key, object Value)[] settings)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(settings);
        var values = new OpParams(settings.Select(s => new KeyValuePair<string, object>(s.Key, s.Value)));
        return new Activation(ActivationTable.Named(name, values));
    }

    /// <inheritdoc />
    public override string Describe() => Op.ToString() ?? Op.Op;

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [Op.OutputShape(inputs[0])];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.ReluFoldedIntoInput)
        {
            // The producer of the input already wrote relu of its result and takes the gradient through relu': this node is a view.
            plan.AliasInput();
            return;
        }

        if (!plan.RunsBackward)
        {
            return;
        }

        // Keep only what the derivative reads: the input or the output, as the op's table row says.
        switch (Op.BackwardReads)
        {
            case ActivationInput.Input:
                plan.KeepInput();
                break;
            case ActivationInput.Output:
                plan.KeepOutput();
                break;
            default:
                throw new InvalidOperationException($"{Op.Op}: unknown saved tensor {Op.BackwardReads}.");
        }
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Op.Forward(context.Input(), context.Output());
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InputGrad() is { } dx)
        {
            Op.Backward(context.Input(), context.Output(), context.OutputGrad(), dx);
        }
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: the op's own rule (<see cref="IActivationOp.Tangent"/>): f'(x) dx elementwise, the softmax Jacobian, or maxout's gather.</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Op.Tangent(context.Input(), context.Output(), context.InputTangent(), context.OutputTangent());
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return inputs[0].Length;
    }
}

/// <summary>max(x, 0).</summary>
public sealed class Relu() : Activation(ActivationSpec.Relu)
{
    /// <inheritdoc />
    public override string Describe() => "ReLU";
}

/// <summary>1 / (1 + e^-x).</summary>
public sealed class Sigmoid() : Activation(ActivationSpec.Sigmoid)
{
    /// <inheritdoc />
    public override string Describe() => "Sigmoid";
}

/// <summary>tanh(x).</summary>
public sealed class Tanh() : Activation(ActivationSpec.Tanh)
{
    /// <inheritdoc />
    public override string Describe() => "Tanh";
}

/// <summary>x if x &gt; 0 else slope * x (<c>torch.nn.LeakyReLU</c>, default slope 0.01).</summary>
public sealed class LeakyRelu(float negativeSlope = 0.01f) : Activation(ActivationSpec.LeakyRelu(negativeSlope))
{
    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"LeakyReLU({negativeSlope})");
}

/// <summary>x if x &gt; 0 else alpha (e^x - 1) (<c>torch.nn.ELU</c>).</summary>
public sealed class Elu(float alpha = 1f) : Activation(ActivationSpec.Elu(alpha))
{
    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"ELU({alpha})");
}

/// <summary>x Phi(x), exact or tanh-approximated (<c>torch.nn.GELU</c>).</summary>
public sealed class Gelu(GeluApproximation approximate = GeluApproximation.None) : Activation(ActivationSpec.Gelu(approximate))
{
    /// <inheritdoc />
    public override string Describe() => approximate == GeluApproximation.Tanh ? "GELU(tanh)" : "GELU";
}

/// <summary>x sigmoid(beta x): swish; beta 1 is SiLU (<c>torch.nn.SiLU</c>).</summary>
public sealed class Swish(float beta = 1f) : Activation(ActivationSpec.Swish(beta))
{
    /// <inheritdoc />
    public override string Describe() => beta == 1f ? "SiLU" : string.Create(CultureInfo.InvariantCulture, $"Swish({beta})");
}

/// <summary>log(1 + e^(beta x)) / beta (<c>torch.nn.Softplus</c>).</summary>
public sealed class Softplus(float beta = 1f, float threshold = 20f) : Activation(ActivationSpec.Softplus(beta, threshold))
{
    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Softplus({beta}, {threshold})");
}

/// <summary>Softmax along <c>dim</c> (<c>torch.nn.Softmax</c>).</summary>
public sealed class Softmax(int dim = -1) : Activation(new SoftmaxSpec(dim, log: false))
{
    /// <inheritdoc />
    public override string Describe() => $"Softmax(dim {dim})";
}

/// <summary>Log-softmax along <c>dim</c> (<c>torch.nn.LogSoftmax</c>).</summary>
public sealed class LogSoftmax(int dim = -1) : Activation(new SoftmaxSpec(dim, log: true))
{
    /// <inheritdoc />
    public override string Describe() => $"LogSoftmax(dim {dim})";
}

/// <summary>Maxout: (N, F * pieces) to (N, F), the maximum over each group of <c>pieces</c> consecutive features.</summary>
public sealed class Maxout(int pieces) : Activation(new MaxoutSpec(pieces))
{
    /// <inheritdoc />
    public override string Describe() => $"Maxout({pieces})";
}
