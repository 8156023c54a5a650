// Arguments of the elementwise activation kernels, passed by value: which function and its parameters.
namespace Engine.Kernels.Activations;

/// <summary>Codes of the elementwise activation functions, as <see cref="ActivationParams.Kind"/> carries them.</summary>
public static class ActivationCodes
{
    /// <summary>1 / (1 + e^-x).</summary>
    public const int Sigmoid = 0;

    /// <summary>tanh(x).</summary>
    public const int Tanh = 1;

    /// <summary>max(x, 0).</summary>
    public const int Relu = 2;

    /// <summary>x if x &gt; 0 else alpha * x.</summary>
    public const int LeakyRelu = 3;

    /// <summary>x if x &gt; 0 else alpha * (e^x - 1).</summary>
    public const int Elu = 4;

    /// <summary>x * Phi(x) with the exact normal CDF.</summary>
    public const int GeluErf = 5;

    /// <summary>PyTorch's tanh approximation of GELU.</summary>
    public const int GeluTanh = 6;

    /// <summary>x * sigmoid(beta * x).</summary>
    public const int Swish = 7;

    /// <summary>log(1 + e^(beta x)) / beta, linear above the threshold.</summary>
    public const int Softplus = 8;
}

/// <summary>Selects an activation and carries its parameters.</summary>
public struct ActivationParams
{
    /// <summary>One of <see cref="ActivationCodes"/>.</summary>
    public int Kind;

    /// <summary>Negative slope (leaky_relu) or negative saturation (elu).</summary>
    public float Alpha;

    /// <summary>beta of swish and softplus.</summary>
    public float Beta;

    /// <summary>Softplus threshold: beta * x above it gives y = x.</summary>
    public float Threshold;
}
