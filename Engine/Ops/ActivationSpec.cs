// Activation layer descriptions: the elementwise kinds with their parameters, the common layer interface that
// softmax and maxout share, and the parser from conformance / sequential-layer names and params.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using Engine.Conformance;
using Engine.Kernels.Activations;

namespace Engine.Ops;

/// <summary>The elementwise activations.</summary>
public enum ActivationKind
{
    /// <summary>1 / (1 + e^-x).</summary>
    Sigmoid,

    /// <summary>tanh(x).</summary>
    Tanh,

    /// <summary>max(x, 0); derivative 0 at 0.</summary>
    Relu,

    /// <summary>x if x &gt; 0 else alpha x; derivative alpha at 0.</summary>
    LeakyRelu,

    /// <summary>x if x &gt; 0 else alpha (e^x - 1); derivative alpha at 0.</summary>
    Elu,

    /// <summary>x Phi(x) (exact) or PyTorch's tanh approximation.</summary>
    Gelu,

    /// <summary>x sigmoid(beta x); beta 1 is SiLU.</summary>
    Swish,

    /// <summary>log(1 + e^(beta x)) / beta, and x where beta x &gt; threshold (torch softplus).</summary>
    Softplus,
}

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

    /// <summary>The output shape for an input of <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">The input shape does not suit the op.</exception>
    Shape OutputShape(Shape input);

    /// <summary>y = f(x). y is pre-allocated with <see cref="OutputShape"/>.</summary>
    void Forward(Tensor x, Tensor y, string? variant = null);

    /// <summary>dx = dL/dx given x, y = f(x) and dy = dL/dy. dx has x's shape.</summary>
    void Backward(Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null);
}

/// <summary>An elementwise activation and its parameters (immutable). Create with the static factories or <see cref="ActivationOps.Parse"/>.</summary>
public sealed class ActivationSpec : IActivationOp, IEquatable<ActivationSpec>
{
    private ActivationSpec(ActivationKind kind, float alpha, float beta, float threshold, GeluApproximation approximate)
    {
        Kind = kind;
        Alpha = alpha;
        Beta = beta;
        Threshold = threshold;
        Approximate = approximate;
    }

    /// <summary>The function.</summary>
    public ActivationKind Kind { get; }

    /// <summary>leaky_relu's negative slope or elu's alpha (0 otherwise).</summary>
    public float Alpha { get; }

    /// <summary>swish's or softplus's beta (1 otherwise).</summary>
    public float Beta { get; }

    /// <summary>softplus's threshold (20 otherwise).</summary>
    public float Threshold { get; }

    /// <summary>GELU variant.</summary>
    public GeluApproximation Approximate { get; }

    /// <inheritdoc />
    public string Op => Kind switch
    {
        ActivationKind.Sigmoid => "sigmoid",
        ActivationKind.Tanh => "tanh",
        ActivationKind.Relu => "relu",
        ActivationKind.LeakyRelu => "leaky_relu",
        ActivationKind.Elu => "elu",
        ActivationKind.Gelu => "gelu",
        ActivationKind.Swish => "swish",
        _ => "softplus",
    };

    /// <summary>The kernel parameters.</summary>
    public ActivationParams Params => new()
    {
        Kind = Kind switch
        {
            ActivationKind.Sigmoid => ActivationCodes.Sigmoid,
            ActivationKind.Tanh => ActivationCodes.Tanh,
            ActivationKind.Relu => ActivationCodes.Relu,
            ActivationKind.LeakyRelu => ActivationCodes.LeakyRelu,
            ActivationKind.Elu => ActivationCodes.Elu,
            ActivationKind.Gelu => Approximate == GeluApproximation.Tanh ? ActivationCodes.GeluTanh : ActivationCodes.GeluErf,
            ActivationKind.Swish => ActivationCodes.Swish,
            _ => ActivationCodes.Softplus,
        },
        Alpha = Alpha,
        Beta = Beta,
        Threshold = Threshold,
    };

    /// <summary>Sigmoid.</summary>
    public static ActivationSpec Sigmoid { get; } = new(ActivationKind.Sigmoid, 0, 1, 20, GeluApproximation.None);

    /// <summary>Tanh.</summary>
    public static ActivationSpec Tanh { get; } = new(ActivationKind.Tanh, 0, 1, 20, GeluApproximation.None);

    /// <summary>ReLU.</summary>
    public static ActivationSpec Relu { get; } = new(ActivationKind.Relu, 0, 1, 20, GeluApproximation.None);

    /// <summary>Leaky ReLU with negative slope <paramref name="alpha"/> (torch default 0.01).</summary>
    public static ActivationSpec LeakyRelu(float alpha = 0.01f) => new(ActivationKind.LeakyRelu, Finite(alpha, nameof(alpha)), 1, 20, GeluApproximation.None);

    /// <summary>ELU with <paramref name="alpha"/> (torch default 1).</summary>
    public static ActivationSpec Elu(float alpha = 1f) => new(ActivationKind.Elu, Finite(alpha, nameof(alpha)), 1, 20, GeluApproximation.None);

    /// <summary>GELU, exact or tanh-approximated.</summary>
    public static ActivationSpec Gelu(GeluApproximation approximate = GeluApproximation.None) => new(ActivationKind.Gelu, 0, 1, 20, approximate);

    /// <summary>Swish x sigmoid(beta x); beta 1 is SiLU.</summary>
    public static ActivationSpec Swish(float beta = 1f) => new(ActivationKind.Swish, 0, Finite(beta, nameof(beta)), 20, GeluApproximation.None);

    /// <summary>torch softplus with <paramref name="beta"/> (non-zero) and <paramref name="threshold"/>.</summary>
    /// <exception cref="ArgumentException">beta is zero or a value is not finite.</exception>
    public static ActivationSpec Softplus(float beta = 1f, float threshold = 20f)
    {
        if (Finite(beta, nameof(beta)) == 0f)
        {
            throw new ArgumentException("softplus: beta must be non-zero.", nameof(beta));
        }

        return new(ActivationKind.Softplus, 0, beta, Finite(threshold, nameof(threshold)), GeluApproximation.None);
    }

    /// <inheritdoc />
    public Shape OutputShape(Shape input) => input ?? throw new ArgumentNullException(nameof(input));

    /// <inheritdoc />
    public void Forward(Tensor x, Tensor y, string? variant = null) => Activations.Forward(this, x, y, variant);

    /// <inheritdoc />
    public void Backward(Tensor x, Tensor y, Tensor dy, Tensor dx, string? variant = null) => Activations.Backward(this, x, y, dy, dx, variant);

    /// <inheritdoc />
    public bool Equals(ActivationSpec? other) => other is not null && Kind == other.Kind && Alpha.Equals(other.Alpha)
        && Beta.Equals(other.Beta) && Threshold.Equals(other.Threshold) && Approximate == other.Approximate;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ActivationSpec s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, Alpha, Beta, Threshold, Approximate);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ActivationKind.LeakyRelu or ActivationKind.Elu => string.Create(CultureInfo.InvariantCulture, $"{Op}(alpha={Alpha})"),
        ActivationKind.Gelu => $"gelu(approximate={(Approximate == GeluApproximation.Tanh ? "tanh" : "none")})",
        ActivationKind.Swish => string.Create(CultureInfo.InvariantCulture, $"swish(beta={Beta})"),
        ActivationKind.Softplus => string.Create(CultureInfo.InvariantCulture, $"softplus(beta={Beta}, threshold={Threshold})"),
        _ => Op,
    };

    private static float Finite(float v, string name) =>
        float.IsFinite(v) ? v : throw new ArgumentException($"activation parameter {name} must be finite, got {v}.", name);
}

/// <summary>Parses activation layers from the conformance names and params (docs/conformance.md).</summary>
public static class ActivationOps
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "swish", "softplus", "softmax", "log_softmax", "maxout",
    };

    /// <summary>Every activation op name.</summary>
    public static IReadOnlyCollection<string> Ops => Names;

    /// <summary>Whether <paramref name="op"/> names an activation (elementwise, softmax, log_softmax or maxout).</summary>
    public static bool IsActivation(string op) => op is not null && Names.Contains(op);

    /// <summary>
    /// Builds the layer for <paramref name="op"/> reading its params through <paramref name="p"/>: leaky_relu
    /// alpha (0.01), elu alpha (1), gelu approximate ("none" | "tanh"), swish beta (1), softplus beta (1) and
    /// threshold (20), softmax / log_softmax axis (-1), maxout pieces (required).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown op or bad param value.</exception>
    public static IActivationOp Parse(string op, CaseParams p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return op switch
        {
            "sigmoid" => ActivationSpec.Sigmoid,
            "tanh" => ActivationSpec.Tanh,
            "relu" => ActivationSpec.Relu,
            "leaky_relu" => ActivationSpec.LeakyRelu((float)p.Number("alpha", 0.01)),
            "elu" => ActivationSpec.Elu((float)p.Number("alpha", 1.0)),
            "gelu" => ActivationSpec.Gelu(p.Str("approximate", "none") switch
            {
                "none" => GeluApproximation.None,
                "tanh" => GeluApproximation.Tanh,
                var s => throw new ArgumentException($"gelu: approximate must be \"none\" or \"tanh\", got \"{s}\".", nameof(p)),
            }),
            "swish" => ActivationSpec.Swish((float)p.Number("beta", 1.0)),
            "softplus" => ActivationSpec.Softplus((float)p.Number("beta", 1.0), (float)p.Number("threshold", 20.0)),
            "softmax" => new SoftmaxSpec(p.Int("axis", -1), log: false),
            "log_softmax" => new SoftmaxSpec(p.Int("axis", -1), log: true),
            "maxout" => new MaxoutSpec(p.Has("pieces") ? p.Int("pieces", 0) : throw new ArgumentException("maxout: param 'pieces' is required.", nameof(p))),
            _ => throw new ArgumentException($"'{op}' is not an activation; known: {string.Join(", ", Names.Order(StringComparer.Ordinal))}.", nameof(op)),
        };
    }

    /// <summary>
    /// Builds the layer described by a JSON object such as <c>{"type": "leaky_relu", "alpha": 0.1}</c>; the op name
    /// is under <paramref name="nameKey"/>. Keys the op does not know are rejected.
    /// </summary>
    /// <exception cref="ArgumentException">No name, unknown op, unknown key or bad value.</exception>
    public static IActivationOp FromJson(JsonObject layer, string nameKey = "type")
    {
        ArgumentNullException.ThrowIfNull(layer);
        string op = layer[nameKey] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s : throw new ArgumentException($"activation layer has no string '{nameKey}': {layer.ToJsonString()}", nameof(layer));
        // Round-trip through text so that values built in code (JsonValue of int, say) read like parsed ones.
        var p = new CaseParams((JsonObject)JsonNode.Parse(layer.ToJsonString())!);
        p.Has(nameKey);
        var result = Parse(op, p);
        var unread = p.Unread.ToList();
        if (unread.Count > 0)
        {
            throw new ArgumentException($"{op}: unknown param(s) {string.Join(", ", unread)}.", nameof(layer));
        }

        return result;
    }
}
