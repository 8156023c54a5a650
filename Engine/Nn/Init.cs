// Parameter initializers as torch.nn.init (fans, gains, Xavier/Glorot, He/Kaiming, normal, uniform, constants),
// drawn from a documented counter-based host RNG (Philox4x32-10) so every seed gives the same values everywhere.
using System;
using System.Buffers;
using Engine.Backends.Cpu;
using Engine.Kernels.Rng;

namespace Engine.Nn;

/// <summary>The nonlinearity a gain is computed for, as <c>torch.nn.init.calculate_gain</c>.</summary>
public enum Nonlinearity
{
    /// <summary>Identity / linear layers: gain 1.</summary>
    Linear = 0,

    /// <summary>Convolutions: gain 1.</summary>
    Conv = 1,

    /// <summary>Sigmoid: gain 1.</summary>
    Sigmoid = 2,

    /// <summary>Tanh: gain 5/3.</summary>
    Tanh = 3,

    /// <summary>ReLU: gain sqrt(2).</summary>
    Relu = 4,

    /// <summary>Leaky ReLU with negative slope a: gain sqrt(2 / (1 + a^2)).</summary>
    LeakyRelu = 5,

    /// <summary>SELU: gain 3/4.</summary>
    Selu = 6,
}

/// <summary>Which fan the Kaiming initializers preserve the variance of.</summary>
public enum FanMode
{
    /// <summary>Fan in: preserves the variance of activations in the forward pass.</summary>
    FanIn = 0,

    /// <summary>Fan out: preserves the variance of gradients in the backward pass.</summary>
    FanOut = 1,
}

/// <summary>
/// Initializers with torch.nn.init's formulas. Values are drawn on the host and copied to the device: value i of a
/// call with <c>seed</c> comes from Philox4x32-10 with key = seed and counter = (i / 4, 0) (uniform: word i % 4,
/// u = (word + 0.5) / 2^32; normal: Box-Muller on word pairs, value 2j, 2j + 1 from block j), computed in double and
/// rounded to float. So a seed gives the same tensor on every device and every run; pass different seeds for
/// different parameters. The sequences differ from PyTorch's generator; the distributions are the same.
/// </summary>
public static partial class Init
{
    /// <summary>
    /// (fan_in, fan_out) as torch: for a weight (out, in, k...) fan_in = in * prod(k), fan_out = out * prod(k); a linear
    /// weight (out, in) has fan_in = in, a convolution weight (out, in / groups, kh, kw) fan_in = in / groups * kh * kw.
    /// </summary>
    /// <exception cref="ArgumentException">The shape has fewer than 2 dimensions.</exception>
    public static (long FanIn, long FanOut) Fans(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Rank < 2)
        {
            throw new ArgumentException($"init: fan in and fan out cannot be computed for a tensor {shape} with fewer than 2 dimensions.", nameof(shape));
        }

        long receptive = shape.Product(2, shape.Rank);
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>torch.nn.init.calculate_gain; <paramref name="negativeSlope"/> is used by <see cref="Nonlinearity.LeakyRelu"/>.</summary>
    public static double Gain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Conv or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + (negativeSlope * negativeSlope))),
        Nonlinearity.Selu => 3.0 / 4,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Unknown nonlinearity."),
    };

    /// <summary>Fills with U(low, high).</summary>
    /// <exception cref="ArgumentException">low &gt; high or a bound is not finite.</exception>
    public static void Uniform(Tensor t, double low, double high, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (!(low <= high) || !double.IsFinite(low) || !double.IsFinite(high))
        {
            throw new ArgumentException($"init.uniform: bounds [{low}, {high}) must be finite with low <= high.", nameof(low));
        }

        Fill(t, seed, normal: false, low, high - low);
    }

    /// <summary>Fills with N(mean, std^2).</summary>
    /// <exception cref="ArgumentException">std is negative or a value is not finite.</exception>
    public static void Normal(Tensor t, double mean, double std, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (!(std >= 0) || !double.IsFinite(std) || !double.IsFinite(mean))
        {
            throw new ArgumentException($"init.normal: std {std} must be finite and non-negative, mean {mean} finite.", nameof(std));
        }

        Fill(t, seed, normal: true, mean, std);
    }

    /// <summary>Fills with <paramref name="value"/>.</summary>
    public static void Constant(Tensor t, float value)
    {
        ArgumentNullException.ThrowIfNull(t);
        t.Fill(value);
    }

    /// <summary>Fills with zeros.</summary>
    public static void Zeros(Tensor t) => Constant(t, 0f);

    /// <summary>Fills with ones.</summary>
    public static void Ones(Tensor t) => Constant(t, 1f);

    /// <summary>Xavier/Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).</summary>
    public static void XavierUniform(Tensor t, double gain = 1.0, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(t);
        double a = Math.Sqrt(3.0) * XavierStd(t.Shape, gain);
        Uniform(t, -a, a, seed);
    }

    /// <summary>Xavier/Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).</summary>
    public static void XavierNormal(Tensor t, double gain = 1.0, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(t);
        Normal(t, 0, XavierStd(t.Shape, gain), seed);
    }

    /// <summary>
    /// He/Kaiming uniform as torch.nn.init.kaiming_uniform_: U(-b, b), b = sqrt(3) * gain / sqrt(fan), gain =
    /// <see cref="Gain"/>(nonlinearity, a) (a is the leaky-ReLU negative slope; 0 with the default gives sqrt(2)).
    /// </summary>
    public static void KaimingUniform(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(t);
        double bound = Math.Sqrt(3.0) * KaimingStd(t.Shape, a, mode, nonlinearity);
        Uniform(t, -bound, bound, seed);
    }

    /// <summary>He/Kaiming normal as torch.nn.init.kaiming_normal_: N(0, std^2), std = gain / sqrt(fan).</summary>
    public static void KaimingNormal(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(t);
        Normal(t, 0, KaimingStd(t.Shape, a, mode, nonlinearity), seed);
    }

    /// <summary>
    /// PyTorch's default for nn.Linear and nn.Conv2d: weight kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(fan_in),
    /// 1/sqrt(fan_in)), and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)). The bias uses seed + 1.
    /// </summary>
    public static void TorchDefault(Tensor weight, Tensor? bias, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(weight);
        KaimingUniform(weight, Math.Sqrt(5.0), FanMode.FanIn, Nonlinearity.LeakyRelu, seed);
        if (bias is not null)
        {
            double b = 1.0 / Math.Sqrt(Fans(weight.Shape).FanIn);
            Uniform(bias, -b, b, unchecked(seed + 1));
        }
    }

    /// <summary>The std of <see cref="XavierNormal(Tensor, double, ulong)"/> for a weight shape.</summary>
    public static double XavierStd(Shape shape, double gain = 1.0)
    {
        var (fanIn, fanOut) = Fans(shape);
        return gain * Math.Sqrt(2.0 / (fanIn + fanOut));
    }

    /// <summary>The std of <see cref="KaimingNormal(Tensor, double, FanMode, Nonlinearity, ulong)"/> for a weight shape.</summary>
    public static double KaimingStd(Shape shape, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        var (fanIn, fanOut) = Fans(shape);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        return Gain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>Value i of a uniform draw in (0, 1) under <paramref name="seed"/> (the sequence the initializers use).</summary>
    public static double UniformAt(ulong seed, long i) => ToUnit(Philox.Block(seed, 0, (ulong)(i / 4)).Word((int)(i & 3)));

    private static double ToUnit(uint word) => (word + 0.5) * (1.0 / 4294967296.0);

    private static unsafe void Fill(Tensor t, ulong seed, bool normal, double a, double b)
    {
        int n = checked((int)t.Length);
        var host = ArrayPool<float>.Shared.Rent(n);
        try
        {
            fixed (float* p = host)
            {
                var body = new FillBody { Out = p, Length = n, Seed = seed, Normal = normal, A = a, B = b };
                HostParallel.For((n + 3) / 4, ref body, 4096);
            }

            t.CopyFrom(host.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(host);
        }
    }

    private unsafe struct FillBody : IRangeBody
    {
        public float* Out;
        public int Length;
        public ulong Seed;
        public bool Normal;
        public double A, B;

        public readonly void Run(int start, int end)
        {
            for (int blk = start; blk < end; blk++)
            {
                var r = Philox.Block(Seed, 0, (ulong)blk);
                int i0 = blk * 4;
                if (Normal)
                {
                    // Box-Muller: (u1, u2) -> two independent N(0, 1) values; words (0, 1) and (2, 3).
                    Put(i0, r.X0, r.X1);
                    Put(i0 + 2, r.X2, r.X3);
                }
                else
                {
                    for (int k = 0; k < 4 && i0 + k < Length; k++)
                    {
                        Out[i0 + k] = (float)(A + (B * ToUnit(r.Word(k))));
                    }
                }
            }
        }

        private readonly void Put(int i, uint w1, uint w2)
        {
            double radius = Math.Sqrt(-2.0 * Math.Log(ToUnit(w1)));
            double angle = 2.0 * Math.PI * ToUnit(w2);
            if (i < Length)
            {
                Out[i] = (float)(A + (B * radius * Math.Cos(angle)));
            }

            if (i + 1 < Length)
            {
                Out[i + 1] = (float)(A + (B * radius * Math.Sin(angle)));
            }
        }
    }
}
