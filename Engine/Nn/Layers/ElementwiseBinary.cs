// The element-wise binary layers a graph joins two tensors with: Add (skip connections), Subtract, Multiply (gates,
// attention-like scaling) and Divide, with PyTorch's broadcasting; backward sums each input's gradient over the
// dimensions it was broadcast along.
using System;
using System.Collections.Generic;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>
/// y = f(a, b) element-wise over two inputs whose shapes broadcast as in PyTorch (aligned at the last dimension, each
/// pair of sizes equal or one of them 1). In a <see cref="GraphModule"/> use <see cref="GraphModule.Add"/>,
/// <see cref="GraphModule.Multiply"/>, <see cref="GraphModule.Subtract"/> or <see cref="GraphModule.Divide"/>.
/// </summary>
public abstract class ElementwiseBinary : Layer
{
    private protected ElementwiseBinary(BinaryOp op) => Op = op;

    /// <summary>The op.</summary>
    public BinaryOp Op { get; }

    /// <inheritdoc />
    public override int InputCount => 2;

    /// <inheritdoc />
    public override GradientAccumulation Accumulation => GradientAccumulation.Inputs;

    /// <inheritdoc />
    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [BinaryOps.BroadcastShape(inputs[0], inputs[1])];
    }

    /// <inheritdoc />
    public override void Plan(LayerPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.RunsBackward && BinaryTable.Get(Op).GradientReadsOperands)
        {
            // d(a*b)/da reads b and d(a*b)/db reads a (divide reads both for db).
            plan.KeepInput(0).KeepInput(1);
        }

        if (plan.FoldsRelu)
        {
            // A ReLU after this add is folded in (only same-shape adds): backward takes dy through relu' at the output.
            if (plan.RunsBackward)
            {
                plan.KeepOutput();
            }
        }
        else if (plan.RunsBackward && Op == BinaryOp.Add && plan.InputShapes[0] == plan.InputShapes[1] && plan.InputShapes[0] == plan.OutputShapes[0])
        {
            // Each input's gradient is dy itself: the planner may give one of them dy's memory (no copy).
            plan.PassGradient();
        }

        if (plan.Tangents && Op == BinaryOp.Multiply)
        {
            plan.TangentWorkspace(plan.OutputShapes[0]);
        }
    }

    /// <inheritdoc />
    public override bool HasTangent => true;

    /// <summary>
    /// Forward mode, with broadcasting as forward: d(a + b) = da + db, d(a - b) = da - db, d(a b) = da b + a db (a
    /// tangent workspace holds a db), d(a / b) = (da - y db) / b with y = a / b, computed in place in the output tangent.
    /// </summary>
    public override void Tangent(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Tensor a = context.Input(0), b = context.Input(1), da = context.InputTangent(0), db = context.InputTangent(1), dy = context.OutputTangent();
        switch (Op)
        {
            case BinaryOp.Add when a.Shape == b.Shape:
                Elementwise.Add(da, db, dy);
                break;
            case BinaryOp.Add:
            case BinaryOp.Subtract:
                BinaryOps.Forward(Op, da, db, dy);
                break;
            case BinaryOp.Multiply:
                BinaryOps.Multiply(da, b, dy);
                BinaryOps.Multiply(a, db, context.TangentWorkspace(0));
                Elementwise.Accumulate(dy, context.TangentWorkspace(0));
                break;
            case BinaryOp.Divide:
                BinaryOps.Multiply(context.Output(), db, dy);
                BinaryOps.Subtract(da, dy, dy);
                BinaryOps.Divide(dy, b, dy);
                break;
            default:
                throw new InvalidOperationException($"{Op}: no tangent rule for this binary op.");
        }
    }

    /// <inheritdoc />
    public override void Forward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Tensor a = context.Input(0), b = context.Input(1);
        if (context.FoldsRelu)
        {
            Elementwise.AddRelu(a, b, context.Output());
            return;
        }

        if (Op == BinaryOp.Add && a.Shape == b.Shape)
        {
            Elementwise.Add(a, b, context.Output());
            return;
        }

        BinaryOps.Forward(Op, a, b, context.Output());
    }

    /// <inheritdoc />
    public override void Backward(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var g = context.OutputGrad();
        Tensor a = context.Input(0), b = context.Input(1);
        if (context.FoldsRelu)
        {
            Elementwise.AddReluBackward(context.Output(), g, context.InputGrad(0), context.InputGrad(1), context.AccumulateInputGrad(0), context.AccumulateInputGrad(1));
            return;
        }

        if (Op == BinaryOp.Add && a.Shape == b.Shape)
        {
            // Both inputs get dy itself (copied, or added where the input feeds several nodes); an input whose gradient the
            // planner placed in dy's memory (see LayerPlan.PassGradient) is skipped by AddBackward.
            Elementwise.AddBackward(g, context.InputGrad(0), null, context.AccumulateInputGrad(0));
            Elementwise.AddBackward(g, null, context.InputGrad(1), context.AccumulateInputGrad(1));
            return;
        }

        BinaryOps.Backward(Op, a, b, g, context.InputGrad(0), context.InputGrad(1), context.AccumulateInputGrad(0), context.AccumulateInputGrad(1));
    }

    /// <inheritdoc />
    public override long Flops(IReadOnlyList<Shape> inputs, IReadOnlyList<Shape> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return outputs[0].Length;
    }
}

/// <summary>Element-wise sum a + b (the join of a skip connection), broadcasting as PyTorch.</summary>
public sealed class Add() : ElementwiseBinary(BinaryOp.Add);

/// <summary>Element-wise difference a - b, broadcasting as PyTorch.</summary>
public sealed class Subtract() : ElementwiseBinary(BinaryOp.Subtract);

/// <summary>Element-wise product a * b (gates, attention-like scaling), broadcasting as PyTorch.</summary>
public sealed class Multiply() : ElementwiseBinary(BinaryOp.Multiply);

/// <summary>Element-wise quotient a / b, broadcasting as PyTorch (b = 0 gives infinities or NaN, as IEEE).</summary>
public sealed class Divide() : ElementwiseBinary(BinaryOp.Divide);
