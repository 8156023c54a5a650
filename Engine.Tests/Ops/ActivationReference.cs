// Double-precision reference activations and derivatives, written from the definitions (independent of the engine).
using System;
using Engine.Ops;

namespace Engine.Tests.Ops;

public static class ActivationReference
{
    /// <summary>erf by its everywhere-convergent positive series erf(x) = 2/sqrt(pi) e^-x^2 sum 2^n x^(2n+1) / (2n+1)!!.</summary>
    public static double Erf(double x)
    {
        if (Math.Abs(x) > 6)
        {
            return Math.Sign(x);
        }

        double term = x, sum = x;
        for (int n = 1; n < 400 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
        {
            term *= 2 * x * x / ((2 * n) + 1);
            sum += term;
        }

        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static double Forward(ActivationSpec s, double x) => s.Kind switch
    {
        ActivationKind.Sigmoid => Sigmoid(x),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.Relu => Math.Max(x, 0),
        ActivationKind.LeakyRelu => x > 0 ? x : s.Alpha * x,
        ActivationKind.Elu => x > 0 ? x : s.Alpha * (Math.Exp(x) - 1),
        ActivationKind.Gelu when s.Approximate == GeluApproximation.None => x * 0.5 * (1 + Erf(x / Math.Sqrt(2))),
        ActivationKind.Gelu => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x)))),
        ActivationKind.Swish => x * Sigmoid(s.Beta * x),
        _ => s.Beta * x > s.Threshold ? x : Math.Log(1 + Math.Exp(s.Beta * x)) / s.Beta,
    };

    /// <summary>f'(x), with PyTorch's values at the kinks.</summary>
    public static double Derivative(ActivationSpec s, double x)
    {
        switch (s.Kind)
        {
            case ActivationKind.Sigmoid:
                return Sigmoid(x) * (1 - Sigmoid(x));
            case ActivationKind.Tanh:
                return 1 - (Math.Tanh(x) * Math.Tanh(x));
            case ActivationKind.Relu:
                return x > 0 ? 1 : 0;
            case ActivationKind.LeakyRelu:
                return x > 0 ? 1 : s.Alpha;
            case ActivationKind.Elu:
                return x > 0 ? 1 : s.Alpha * Math.Exp(x);
            case ActivationKind.Gelu when s.Approximate == GeluApproximation.None:
                return (0.5 * (1 + Erf(x / Math.Sqrt(2)))) + (x * Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI));
            case ActivationKind.Gelu:
                {
                    double k = Math.Sqrt(2 / Math.PI), u = k * (x + (0.044715 * x * x * x)), t = Math.Tanh(u);
                    return (0.5 * (1 + t)) + (0.5 * x * (1 - (t * t)) * k * (1 + (3 * 0.044715 * x * x)));
                }

            case ActivationKind.Swish:
                {
                    double sg = Sigmoid(s.Beta * x);
                    return sg + (s.Beta * x * sg * (1 - sg));
                }

            default:
                return s.Beta * x > s.Threshold ? 1 : Sigmoid(s.Beta * x);
        }
    }

    /// <summary>Every activation spec worth testing: each kind with default and non-default params.</summary>
    public static ActivationSpec[] All() =>
    [
        ActivationSpec.Sigmoid, ActivationSpec.Tanh, ActivationSpec.Relu, ActivationSpec.LeakyRelu(0.13f), ActivationSpec.LeakyRelu(),
        ActivationSpec.Elu(), ActivationSpec.Elu(0.37f), ActivationSpec.Gelu(), ActivationSpec.Gelu(GeluApproximation.Tanh),
        ActivationSpec.Swish(), ActivationSpec.Swish(1.7f), ActivationSpec.Softplus(), ActivationSpec.Softplus(2f, 3f), ActivationSpec.Softplus(-0.5f, 5f),
    ];
}
