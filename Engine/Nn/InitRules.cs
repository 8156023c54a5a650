// Initialization rules chosen per layer or per model and applied at a model's first compile: the rule objects
// (Xavier/Glorot, He/Kaiming with calculate_gain's gains, normal, zeros, PyTorch's default) and model-wide rules.
using System;
using System.Globalization;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>Initialization rules understood by the compiler (see <see cref="ParamInit"/>).</summary>
public enum ParamInitKind
{
    /// <summary>Uniform in [-A, A).</summary>
    Uniform = 0,

    /// <summary>Constant A.</summary>
    Constant = 1,

    /// <summary>Normal with mean A and standard deviation B.</summary>
    Normal = 2,

    /// <summary>Xavier/Glorot uniform with gain A: U(-a, a), a = A sqrt(6 / (fan_in + fan_out)).</summary>
    XavierUniform = 3,

    /// <summary>Xavier/Glorot normal with gain A: std = A sqrt(2 / (fan_in + fan_out)).</summary>
    XavierNormal = 4,

    /// <summary>He/Kaiming uniform with gain A over the fan of <see cref="ParamInit.Mode"/>: U(-b, b), b = A sqrt(3 / fan).</summary>
    KaimingUniform = 5,

    /// <summary>He/Kaiming normal with gain A over the fan of <see cref="ParamInit.Mode"/>: std = A / sqrt(fan).</summary>
    KaimingNormal = 6,
}

/// <summary>
/// How a parameter is filled when a model is first compiled on a device. Build one with <see cref="Init"/>'s rule
/// methods (<c>Init.KaimingNormal("relu")</c>, <c>Init.XavierUniform()</c>, <c>Init.Zeros()</c>, ...) and give it to a
/// layer (<c>new Linear(784, 128, init: Init.KaimingNormal("relu"))</c>) or to a model-wide <see cref="InitRule"/>.
/// The fan rules need a parameter of at least 2 dimensions (a weight); fans are <see cref="Init.Fans"/>.
/// </summary>
/// <param name="Kind">The rule.</param>
/// <param name="A">The bound of a uniform rule, the constant, a normal's mean, or the gain of a fan rule.</param>
/// <param name="B">A normal's standard deviation (unused otherwise).</param>
/// <param name="Mode">The fan a Kaiming rule preserves.</param>
public readonly record struct ParamInit(ParamInitKind Kind, double A, double B = 0, FanMode Mode = FanMode.FanIn)
{
    /// <summary>U(-bound, bound), PyTorch's default for linear and convolution weights and biases (bound 1/sqrt(fan_in)).</summary>
    public static ParamInit Uniform(double bound) => new(ParamInitKind.Uniform, bound);

    /// <summary>Every element equal to <paramref name="value"/>.</summary>
    public static ParamInit Constant(double value) => new(ParamInitKind.Constant, value);

    /// <summary>Whether the rule reads the fans, so it needs a parameter of at least 2 dimensions.</summary>
    public bool NeedsFans => Kind is ParamInitKind.XavierUniform or ParamInitKind.XavierNormal or ParamInitKind.KaimingUniform or ParamInitKind.KaimingNormal;

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ParamInitKind.Uniform => string.Create(CultureInfo.InvariantCulture, $"uniform(+-{A:G6})"),
        ParamInitKind.Constant => string.Create(CultureInfo.InvariantCulture, $"constant({A:G6})"),
        ParamInitKind.Normal => string.Create(CultureInfo.InvariantCulture, $"normal({A:G6}, {B:G6})"),
        ParamInitKind.XavierUniform => string.Create(CultureInfo.InvariantCulture, $"xavier_uniform(gain {A:G6})"),
        ParamInitKind.XavierNormal => string.Create(CultureInfo.InvariantCulture, $"xavier_normal(gain {A:G6})"),
        ParamInitKind.KaimingUniform => string.Create(CultureInfo.InvariantCulture, $"kaiming_uniform(gain {A:G6}, {Mode})"),
        ParamInitKind.KaimingNormal => string.Create(CultureInfo.InvariantCulture, $"kaiming_normal(gain {A:G6}, {Mode})"),
        _ => Kind.ToString(),
    };
}

/// <summary>What a model-wide <see cref="InitRule"/> sees of one parameter.</summary>
/// <param name="Name">The state-dict name, e.g. <c>3.weight</c>.</param>
/// <param name="Layer">The module that declared it.</param>
/// <param name="Parameter">Its declaration (shape, role and the layer's own rule).</param>
/// <param name="Next">The layer that alone consumes the declaring layer's output in the compiled graph (its activation, usually), or null.</param>
public sealed record InitContext(string Name, Module Layer, ParamSpec Parameter, Layer? Next);

/// <summary>
/// A model-wide initialization rule (<see cref="CompileOptions.Init"/>): called at the first compile on a device for
/// every parameter whose layer was not given an explicit rule; returns the rule to use, or null for the layer's default.
/// </summary>
public delegate ParamInit? InitRule(InitContext parameter);

public static partial class Init
{
    /// <summary>Xavier/Glorot uniform as a rule: U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)).</summary>
    public static ParamInit XavierUniform(double gain = 1.0) => new(ParamInitKind.XavierUniform, CheckGain(gain));

    /// <summary>Xavier/Glorot normal as a rule: std = gain sqrt(2 / (fan_in + fan_out)).</summary>
    public static ParamInit XavierNormal(double gain = 1.0) => new(ParamInitKind.XavierNormal, CheckGain(gain));

    /// <summary>
    /// He/Kaiming uniform as a rule, as torch.nn.init.kaiming_uniform_(a, mode, nonlinearity): gain =
    /// calculate_gain(<paramref name="nonlinearity"/>, <paramref name="a"/>) (a: leaky ReLU's negative slope).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown nonlinearity (torch's names: linear, conv1d, conv2d, conv3d, conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu).</exception>
    public static ParamInit KaimingUniform(string nonlinearity = "leaky_relu", double a = 0, FanMode mode = FanMode.FanIn) =>
        new(ParamInitKind.KaimingUniform, Gain(ParseNonlinearity(nonlinearity), a), 0, CheckMode(mode));

    /// <summary>He/Kaiming normal as a rule, as torch.nn.init.kaiming_normal_(a, mode, nonlinearity): std = gain / sqrt(fan).</summary>
    /// <exception cref="ArgumentException">Unknown nonlinearity.</exception>
    public static ParamInit KaimingNormal(string nonlinearity = "leaky_relu", double a = 0, FanMode mode = FanMode.FanIn) =>
        new(ParamInitKind.KaimingNormal, Gain(ParseNonlinearity(nonlinearity), a), 0, CheckMode(mode));

    /// <summary>N(mean, std^2) as a rule (torch.nn.init.normal_).</summary>
    /// <exception cref="ArgumentOutOfRangeException">std is negative or a value is not finite.</exception>
    public static ParamInit Normal(double mean = 0, double std = 1) => double.IsFinite(mean) && double.IsFinite(std) && std >= 0
        ? new(ParamInitKind.Normal, mean, std)
        : throw new ArgumentOutOfRangeException(nameof(std), std, $"init.normal: std {std} must be finite and non-negative, mean {mean} finite.");

    /// <summary>Every element <paramref name="value"/> as a rule (torch.nn.init.constant_).</summary>
    public static ParamInit Constant(double value) => ParamInit.Constant(value);

    /// <summary>Zeros as a rule.</summary>
    public static ParamInit Zeros() => ParamInit.Constant(0);

    /// <summary>
    /// PyTorch's default for a linear or convolution weight as a rule: kaiming_uniform_(a = sqrt(5)), which is
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    /// </summary>
    public static ParamInit TorchDefault() => new(ParamInitKind.KaimingUniform, Gain(Nonlinearity.LeakyRelu, Math.Sqrt(5.0)));

    /// <summary>
    /// torch.nn.init.calculate_gain's nonlinearity names: <c>linear</c>, <c>conv1d</c>, <c>conv2d</c>, <c>conv3d</c>,
    /// <c>conv_transpose1d</c>, <c>conv_transpose2d</c>, <c>conv_transpose3d</c>, <c>sigmoid</c>, <c>tanh</c>, <c>relu</c>,
    /// <c>leaky_relu</c>, <c>selu</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static Nonlinearity ParseNonlinearity(string name) => name switch
    {
        "linear" => Nonlinearity.Linear,
        "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d" or "conv_transpose3d" => Nonlinearity.Conv,
        "sigmoid" => Nonlinearity.Sigmoid,
        "tanh" => Nonlinearity.Tanh,
        "relu" => Nonlinearity.Relu,
        "leaky_relu" => Nonlinearity.LeakyRelu,
        "selu" => Nonlinearity.Selu,
        _ => throw new ArgumentException(
            $"init: unknown nonlinearity '{name}'; torch.nn.init.calculate_gain knows linear, conv1d, conv2d, conv3d, conv_transpose1d, " +
            "conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu and selu.", nameof(name)),
    };

    /// <summary>
    /// A model-wide rule: <paramref name="weights"/> for every weight (<see cref="ParameterRole.Weight"/>, at least 2
    /// dimensions) and <paramref name="biases"/> for every bias; null leaves those at the layer's default. Layers given an
    /// explicit rule keep it.
    /// </summary>
    public static InitRule Rule(ParamInit? weights = null, ParamInit? biases = null) => p => p.Parameter.Role switch
    {
        ParameterRole.Weight when p.Parameter.Shape.Rank >= 2 => weights,
        ParameterRole.Bias => biases,
        _ => null,
    };

    /// <summary>
    /// A model-wide rule that picks each weight's initializer from the activation that follows its layer: He/Kaiming
    /// normal (fan_in) with calculate_gain's gain before <c>relu</c> and <c>leaky_relu</c> (its slope), Xavier/Glorot
    /// normal with the gain before <c>tanh</c> and <c>sigmoid</c>, and Xavier/Glorot normal with gain 1 before anything
    /// else (another activation, a normalization, the output). Biases become zeros. Layers given an explicit rule keep it.
    /// </summary>
    public static InitRule ByActivation() => p =>
    {
        if (p.Parameter.Role == ParameterRole.Bias)
        {
            return Zeros();
        }

        if (p.Parameter.Role != ParameterRole.Weight || p.Parameter.Shape.Rank < 2)
        {
            return null;
        }

        var act = (p.Next as Activation)?.Op as ActivationSpec;
        return act?.Op switch
        {
            "relu" => new ParamInit(ParamInitKind.KaimingNormal, Gain(Nonlinearity.Relu)),
            "leaky_relu" => new ParamInit(ParamInitKind.KaimingNormal, Gain(Nonlinearity.LeakyRelu, act.Parameter("alpha"))),
            "tanh" => XavierNormal(Gain(Nonlinearity.Tanh)),
            "sigmoid" => XavierNormal(Gain(Nonlinearity.Sigmoid)),
            _ => XavierNormal(),
        };
    };

    /// <summary>Fills <paramref name="t"/> by <paramref name="rule"/> from Philox stream <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">A fan rule on a tensor of fewer than 2 dimensions.</exception>
    public static void Apply(Tensor t, ParamInit rule, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(t);
        switch (rule.Kind)
        {
            case ParamInitKind.Constant:
                Constant(t, (float)rule.A);
                break;
            case ParamInitKind.Uniform:
                Uniform(t, -rule.A, rule.A, seed);
                break;
            case ParamInitKind.Normal:
                Normal(t, rule.A, rule.B, seed);
                break;
            case ParamInitKind.XavierUniform:
                XavierUniform(t, rule.A, seed);
                break;
            case ParamInitKind.XavierNormal:
                XavierNormal(t, rule.A, seed);
                break;
            case ParamInitKind.KaimingUniform:
                double bound = Math.Sqrt(3.0) * rule.A / Math.Sqrt(Fan(t.Shape, rule.Mode));
                Uniform(t, -bound, bound, seed);
                break;
            case ParamInitKind.KaimingNormal:
                Normal(t, 0, rule.A / Math.Sqrt(Fan(t.Shape, rule.Mode)), seed);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(rule), rule.Kind, "Unknown initializer.");
        }
    }

    /// <summary>Throws unless <paramref name="rule"/> can fill a parameter of <paramref name="shape"/> (fan rules need 2 dimensions).</summary>
    internal static void CheckFits(ParamInit rule, Shape shape, string what)
    {
        if (rule.NeedsFans && shape.Rank < 2)
        {
            throw new ArgumentException($"{what} {shape}: {rule} needs fan in and fan out, which a tensor with fewer than 2 dimensions lacks.", what);
        }
    }

    private static long Fan(Shape shape, FanMode mode)
    {
        var (fanIn, fanOut) = Fans(shape);
        return mode == FanMode.FanIn ? fanIn : fanOut;
    }

    private static double CheckGain(double gain) =>
        double.IsFinite(gain) && gain >= 0 ? gain : throw new ArgumentOutOfRangeException(nameof(gain), gain, "init: gain must be finite and non-negative.");

    private static FanMode CheckMode(FanMode mode) =>
        Enum.IsDefined(mode) ? mode : throw new ArgumentOutOfRangeException(nameof(mode), mode, "init: mode is FanIn or FanOut.");
}
