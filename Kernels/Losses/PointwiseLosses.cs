// The pointwise losses, one operator struct each, with PyTorch's choices at the kinks: mae'(0) = 0; huber' is -delta
// for d <= -delta, delta for d >= delta, d between; smooth_l1' is -1 for d <= -beta, 1 for d >= beta, d / beta
// between (so beta = 0 gives -1 at d = 0, as torch 1.13); bce's logs clamp at -100 as torch.
using System;
using ILGPU.Algorithms;

namespace Engine.Kernels.Losses;

/// <summary>Mean squared error term (p - t)^2.</summary>
public readonly struct MseLoss : IPointwiseLoss
{
    /// <inheritdoc />
    public float Term(float p, float t, PointwiseLossParams q) => (p - t) * (p - t);

    /// <inheritdoc />
    public float Derivative(float p, float t, PointwiseLossParams q) => 2f * (p - t);

    /// <inheritdoc />
    public double Term(double p, double t, in PointwiseLossParams q) => (p - t) * (p - t);

    /// <inheritdoc />
    public double Derivative(double p, double t, in PointwiseLossParams q) => 2 * (p - t);
}

/// <summary>Mean absolute error term |p - t| (torch l1_loss).</summary>
public readonly struct MaeLoss : IPointwiseLoss
{
    /// <inheritdoc />
    public float Term(float p, float t, PointwiseLossParams q) => XMath.Abs(p - t);

    /// <inheritdoc />
    public float Derivative(float p, float t, PointwiseLossParams q)
    {
        float d = p - t;
        return d > 0f ? 1f : (d < 0f ? -1f : 0f);
    }

    /// <inheritdoc />
    public double Term(double p, double t, in PointwiseLossParams q) => Math.Abs(p - t);

    /// <inheritdoc />
    public double Derivative(double p, double t, in PointwiseLossParams q) => Math.Sign(p - t);
}

/// <summary>torch huber_loss with <see cref="PointwiseLossParams.HuberDelta"/>.</summary>
public readonly struct HuberLoss : IPointwiseLoss
{
    /// <inheritdoc />
    public float Term(float p, float t, PointwiseLossParams q)
    {
        float d = p - t, z = XMath.Abs(d), a = q.HuberDelta;
        return z < a ? 0.5f * d * d : a * (z - (0.5f * a));
    }

    /// <inheritdoc />
    public float Derivative(float p, float t, PointwiseLossParams q)
    {
        float d = p - t, a = q.HuberDelta;
        return d <= -a ? -a : (d >= a ? a : d);
    }

    /// <inheritdoc />
    public double Term(double p, double t, in PointwiseLossParams q)
    {
        double d = p - t, z = Math.Abs(d), a = q.HuberDelta;
        return z < a ? 0.5 * d * d : a * (z - (0.5 * a));
    }

    /// <inheritdoc />
    public double Derivative(double p, double t, in PointwiseLossParams q)
    {
        double d = p - t, a = q.HuberDelta;
        return d <= -a ? -a : (d >= a ? a : d);
    }
}

/// <summary>torch smooth_l1_loss with <see cref="PointwiseLossParams.SmoothL1Beta"/>.</summary>
public readonly struct SmoothL1Loss : IPointwiseLoss
{
    /// <inheritdoc />
    public float Term(float p, float t, PointwiseLossParams q)
    {
        float d = p - t, z = XMath.Abs(d), b = q.SmoothL1Beta;
        return z < b ? 0.5f * d * d / b : z - (0.5f * b);
    }

    /// <inheritdoc />
    public float Derivative(float p, float t, PointwiseLossParams q)
    {
        float d = p - t, b = q.SmoothL1Beta;
        return d <= -b ? -1f : (d >= b ? 1f : d / b);
    }

    /// <inheritdoc />
    public double Term(double p, double t, in PointwiseLossParams q)
    {
        double d = p - t, z = Math.Abs(d), b = q.SmoothL1Beta;
        return z < b ? 0.5 * d * d / b : z - (0.5 * b);
    }

    /// <inheritdoc />
    public double Derivative(double p, double t, in PointwiseLossParams q)
    {
        double d = p - t, b = q.SmoothL1Beta;
        return d <= -b ? -1 : (d >= b ? 1 : d / b);
    }
}

/// <summary>Binary cross-entropy of probabilities (torch binary_cross_entropy, logs clamped at -100).</summary>
public readonly struct BceLoss : IPointwiseLoss
{
    /// <inheritdoc />
    public float Term(float p, float t, PointwiseLossParams q) =>
        -((t * KernelMath.ClampMin(XMath.Log(p), -100f)) + ((1f - t) * KernelMath.ClampMin(XMath.Log(1f - p), -100f)));

    /// <inheritdoc />
    public float Derivative(float p, float t, PointwiseLossParams q) => (p - t) / KernelMath.ClampMin((1f - p) * p, 1e-12f);

    /// <inheritdoc />
    public double Term(double p, double t, in PointwiseLossParams q) =>
        -((t * Math.Max(Math.Log(p), -100)) + ((1 - t) * Math.Max(Math.Log(1 - p), -100)));

    /// <inheritdoc />
    public double Derivative(double p, double t, in PointwiseLossParams q) => (p - t) / Math.Max((1 - p) * p, 1e-12);
}

/// <summary>Binary cross-entropy of logits (torch binary_cross_entropy_with_logits).</summary>
public readonly struct BceWithLogitsLoss : IPointwiseLoss
{
    /// <inheritdoc />
    public float Term(float p, float t, PointwiseLossParams q) => PointwiseLossMath.LogitsBce(p, t);

    /// <inheritdoc />
    public float Derivative(float p, float t, PointwiseLossParams q) => PointwiseLossMath.Sigmoid(p) - t;

    /// <inheritdoc />
    public double Term(double p, double t, in PointwiseLossParams q) => PointwiseLossMath.LogitsBce(p, t);

    /// <inheritdoc />
    public double Derivative(double p, double t, in PointwiseLossParams q) => PointwiseLossMath.Sigmoid(p) - t;
}

/// <summary>torchvision sigmoid_focal_loss with <see cref="PointwiseLossParams.FocalGamma"/> and <see cref="PointwiseLossParams.FocalAlpha"/>.</summary>
public readonly struct FocalLoss : IPointwiseLoss
{
    /// <inheritdoc />
    public float Term(float p, float t, PointwiseLossParams q) => PointwiseLossMath.FocalTerm(p, t, q.FocalGamma, q.FocalAlpha);

    /// <inheritdoc />
    public float Derivative(float p, float t, PointwiseLossParams q) => PointwiseLossMath.FocalDerivative(p, t, q.FocalGamma, q.FocalAlpha);

    /// <inheritdoc />
    public double Term(double p, double t, in PointwiseLossParams q) => PointwiseLossMath.FocalTerm(p, t, q.FocalGamma, q.FocalAlpha);

    /// <inheritdoc />
    public double Derivative(double p, double t, in PointwiseLossParams q) => PointwiseLossMath.FocalDerivative(p, t, q.FocalGamma, q.FocalAlpha);
}
