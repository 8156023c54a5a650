// Activation layer descriptions: the common interface of elementwise activations, softmax and maxout, and the
// elementwise spec (a row of the activation table plus its parameter values).
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Kernels.Activations;

namespace Engine.Ops;

/// <summary>GELU variants, as torch's <c>approximate</c> argument.</summary>
public enum GeluApproximation
{
    /// <summary>Exact: x Phi(x) with the normal CDF through erf.</summary>
    None,

    /// <summary>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    Tanh,
}

/// <summary>
/// An activation layer: elementwise (<see cref="ActivationSpec"/>), softmax or log-softmax (<see cref="SoftmaxSpec"/>),
/// or maxout (<see cref="MaxoutSpec"/>). The graph executor calls these without knowing which it holds.
/// </summary>
public interface IActivationOp
{
    /// <summary>The op name used by conformance cases and sequential layers (e.g. <c>leaky_relu</c>).</summary>
    string Op { get; }

    /// <summary>The tensor <see cref="Backward"/> reads besides dy (the layer keeps only that one).</summary>
    ActivationInput BackwardReads { get; }

    /// <summary>The output shape for an input of <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">The input shape does not suit the op.</exception>
    Shape OutputShape(Shape input);

    /// <summary>y = f(x). y is pre-allocated with <see cref="OutputShape"/>.</summary>
    void Forward(Tensor x, Tensor y, string? variant = null);

    /// <summary>dx = dL/dx given x, y = f(x) and dy = dL/dy. dx has x's shape; only <see cref="BackwardReads"/> needs to be valid.</summary>
    void Backward(Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null);

    /// <summary>Forward mode: dy = J(x) dx, the tangent of y = f(x) along the input tangent dx (x's shape; dy has y's). x and y are both valid.</summary>
    void Tangent(Tensor x, Tensor y, Tensor dx, Tensor dy, string? variant = null);
}

/// <summary>
/// An elementwise activation and its parameter values (immutable): a row of <see cref="ActivationTable"/>. Create
/// with <see cref="Named"/> (any activation) or the shortcuts below.
/// </summary>
public sealed class ActivationSpec : IActivationOp, IEquatable<ActivationSpec>
{
    internal ActivationSpec(ActivationDefinition definition, ActivationParams values)
    {
        Definition = definition;
        Params = values;
    }

    /// <summary>The table row.</summary>
    public ActivationDefinition Definition { get; }

    /// <summary>The parameter values as the kernels take them.</summary>
    public ActivationParams Params { get; }

    /// <inheritdoc />
    public string Op => Definition.Name;

    /// <inheritdoc />
    public ActivationInput BackwardReads => Definition.BackwardReads;

    /// <summary>Sigmoid.</summary>
    public static ActivationSpec Sigmoid { get; } = Named("sigmoid");

    /// <summary>Tanh.</summary>
    public static ActivationSpec Tanh { get; } = Named("tanh");

    /// <summary>ReLU.</summary>
    public static ActivationSpec Relu { get; } = Named("relu");

    /// <summary>
    /// The elementwise activation <paramref name="name"/> with <paramref name="settings"/> by parameter name, e.g.
    /// <c>Named("leaky_relu", ("alpha", 0.1))</c>, <c>Named("gelu", ("approximate", "tanh"))</c>, <c>Named("mish")</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown or non-elementwise name, unknown setting or bad value.</exception>
    public static ActivationSpec Named(string name, params (string Key, object Value)[] settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var op = ActivationTable.Named(name, new OpParams(settings.Select(s => new KeyValuePair<string, object>(s.Key, s.Value))));
        return op as ActivationSpec ?? throw new ArgumentException($"{name} is not elementwise; build it with ActivationTable.Parse.", nameof(name));
    }

    /// <summary>Leaky ReLU with negative slope <paramref name="alpha"/> (torch default 0.01).</summary>
    public static ActivationSpec LeakyRelu(float alpha = 0.01f) => Named("leaky_relu", ("alpha", alpha));

    /// <summary>ELU with <paramref name="alpha"/> (torch default 1).</summary>
    public static ActivationSpec Elu(float alpha = 1f) => Named("elu", ("alpha", alpha));

    /// <summary>GELU, exact or tanh-approximated.</summary>
    public static ActivationSpec Gelu(GeluApproximation approximate = GeluApproximation.None) =>
        Named("gelu", ("approximate", approximate switch
        {
            GeluApproximation.None => "none",
            GeluApproximation.Tanh => "tanh",
            _ => throw new ArgumentOutOfRangeException(nameof(approximate), approximate, "gelu: approximate is None or Tanh."),
        }));

    /// <summary>Swish x sigmoid(beta x); beta 1 is SiLU.</summary>
    public static ActivationSpec Swish(float beta = 1f) => Named("swish", ("beta", beta));

    /// <summary>torch softplus with <paramref name="beta"/> (non-zero) and <paramref name="threshold"/>.</summary>
    /// <exception cref="ArgumentException">beta is zero or a value is not finite.</exception>
    public static ActivationSpec Softplus(float beta = 1f, float threshold = 20f) => Named("softplus", ("beta", beta), ("threshold", threshold));

    /// <summary>The value of the parameter <paramref name="name"/> (e.g. softplus's <c>beta</c>).</summary>
    /// <exception cref="ArgumentException">The activation has no such parameter.</exception>
    public float Parameter(string name) => Definition.Read(Params, name);

    /// <inheritdoc />
    public Shape OutputShape(Shape input) => input ?? throw new ArgumentNullException(nameof(input));

    /// <inheritdoc />
    public void Forward(Tensor x, Tensor y, string? variant = null) => Activations.Forward(this, x, y, variant);

    /// <inheritdoc />
    public void Backward(Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null) => Activations.Backward(this, x, y, dy, dx, variant);

    /// <summary>Forward mode: dy = f'(x) dx. The Jacobian is diagonal, so this is the backward with dx in dy's place.</summary>
    public void Tangent(Tensor x, Tensor y, Tensor dx, Tensor dy, string? variant = null) => Activations.Backward(this, x, y, dx, dy, variant);

    /// <inheritdoc />
    public bool Equals(ActivationSpec? other) => other is not null && Definition == other.Definition && Params.Alpha.Equals(other.Params.Alpha)
        && Params.Beta.Equals(other.Params.Beta) && Params.Threshold.Equals(other.Params.Threshold);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ActivationSpec s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Definition, Params.Alpha, Params.Beta, Params.Threshold);

    /// <inheritdoc />
    public override string ToString() => Definition.Describe(Params);
}
