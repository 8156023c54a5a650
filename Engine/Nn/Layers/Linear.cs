// Linear (dense) layer: y = x W^T + b over the last dimension, as torch.nn.Linear, on the GEMM and bias ops.
using System;
using System.Collections.Generic;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// <c>y = x W^T + b</c> on the last dimension of x (<c>torch.nn.Linear</c>): weight (out, in), bias (out).
/// Parameters: in*out + out (S_in * S_out + S_out). Initialized like PyTorch, U(-1/sqrt(in), 1/sqrt(in)), unless
/// given rules (<c>new Linear(784, 128, init: Init.KaimingNormal("relu"))</c>) or a model-wide <see cref="CompileOptions.Init"/>.
/// </summary>
public sealed class Linear : Layer
{
    /// <summary>Creates the layer; <paramref name="init"/> and <paramref name="biasInit"/> replace PyTorch's default for the weight and the bias.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="biasInit"/> is a fan rule (Xavier, Kaiming), which a vector has no fans for.</exception>
    public Linear(int inFeatures, int outFeatures, bool bias = true, ParamInit? init = null, ParamInit? biasInit = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        HasBias = bias;
        double bound = 1.0 / Math.Sqrt(inFeatures);
        AddParameter("weight", new Shape(outFeatures, inFeatures), ParameterRole.Weight, init ?? ParamInit.Uniform(bound), init is not null);
        if (bias)
        {
            AddParameter("bias", new Shape(outFeatures), ParameterRole.Bias, biasInit ?? ParamInit.Uniform(bound), biasInit is not null);
        }
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Whether the layer adds a bias.</summary>
    public bool HasBias { get; }

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.All;

    /// <inheritdoc />
    public override string Describe() => $"Linear({InFeatures}, {OutFeatures}{(HasBias ? string.Empty : ", bias: false")})";

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs[0];
        if (x.Rank < 2 || x[-1] != InFeatures)
        {
            throw new ArgumentException($"expected (batch, ..., {InFeatures}): in_features is {InFeatures}.");
        }

        return [x.With(-1, OutFeatures)];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.ParamsNeedGrad)
        {
            plan.KeepInput();
        }

    }

    /// <inheritdoc />
    public override void Prepare(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int m = Rows(context.Input().Shape);
        var s = new State
        {
            X = context.Input().Reshape(new Shape(m, InFeatures)),
            Y = context.Output().Reshape(new Shape(m, OutFeatures)),
        };
        if (context.OutputGrads[0] is { } g)
        {
            s.G = g.Reshape(new Shape(m, OutFeatures));
        }

        s.DX = context.InputGrad()?.Reshape(new Shape(m, InFeatures));
        if (context.HasTangents)
        {
            s.TX = context.InputTangent().Reshape(new Shape(m, InFeatures));
            s.TY = context.OutputTangent().Reshape(new Shape(m, OutFeatures));
        }

        context.State = s;
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (State)context.State!;
        GemmOp.Run(s.X, context.Param(0), s.Y, transB: true);
        if (HasBias)
        {
            Elementwise.AddBias(s.Y, context.Param(1));
        }
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (State)context.State!;
        var g = s.G!;
        if (context.ParamGrad(0) is { } dw)
        {
            GemmOp.Run(g, s.X, dw, transA: true, beta: context.AccumulateParamGrad(0) ? 1f : 0f);
        }

        if (HasBias && context.ParamGrad(1) is { } db)
        {
            Elementwise.BiasBackward(g, db, accumulate: context.AccumulateParamGrad(1));
        }

        if (s.DX is not null)
        {
            GemmOp.Run(g, context.Param(0), s.DX, beta: context.AccumulateInputGrad() ? 1f : 0f);
        }
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>Forward mode: dy = dx W^T (+ x dW^T + db with parameter tangents).</summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = (State)context.State!;
        GemmOp.Run(s.TX!, context.Param(0), s.TY!, transB: true);
        if (context.ParamTangent(0) is { } dw)
        {
            GemmOp.Run(s.X, dw, s.TY!, transB: true, beta: 1f);
        }

        if (HasBias && context.ParamTangent(1) is { } db)
        {
            Elementwise.AddBias(s.TY!, db);
        }
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        long m = Rows(inputs[0]);
        return (2 * m * InFeatures * OutFeatures) + (HasBias ? m * OutFeatures : 0);
    }

    private int Rows(Shape x) => checked((int)(x.Length / InFeatures));

    private sealed class State
    {
        public Tensor X = null!;
        public Tensor Y = null!;
        public Tensor? G;
        public Tensor? DX;
        public Tensor? TX;
        public Tensor? TY;
    }
}
