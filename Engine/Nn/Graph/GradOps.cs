// Copy and accumulate (dst += src) over whole tensors, used by the executor to sum gradients of tensors that
// feed several consumers. STOPGAP until Engine/Ops/Elementwise.cs lands: the kernel path runs the add as a
// rank-1 GEMM so that no kernel is written here.
using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Engine.Ops;

namespace Engine.Nn;

/// <summary>Whole-tensor copy and accumulate for gradients.</summary>
internal static class GradOps
{
    private static readonly ConditionalWeakTable<Tensor, Tensor> RowViews = new();
    private static readonly ConditionalWeakTable<Device, Tensor> Ones = new();

    /// <summary><paramref name="dst"/> = <paramref name="src"/>, or += when <paramref name="accumulate"/>.</summary>
    public static void CopyOrAccumulate(Tensor src, Tensor dst, bool accumulate)
    {
        if (accumulate)
        {
            Accumulate(src, dst);
        }
        else
        {
            dst.CopyFrom(src);
        }
    }

    /// <summary><paramref name="dst"/> += <paramref name="src"/> (same element count).</summary>
    public static void Accumulate(Tensor src, Tensor dst)
    {
        var device = dst.Device;
        if (device.Path == ComputePath.Host)
        {
            device.Synchronize();
            TensorPrimitives.Add(dst.HostSpan, src.HostSpan, dst.HostSpan);
            return;
        }

        var one = Ones.GetValue(device, static d =>
        {
            var t = Tensor.Empty(d, new Shape(1, 1));
            t.Fill(1f);
            return t;
        });
        Gemm.Run(one, Row(src), Row(dst), alpha: 1f, beta: 1f);
    }

    /// <summary><paramref name="y"/> = <paramref name="a"/> + <paramref name="b"/>.</summary>
    public static void Add(Tensor a, Tensor b, Tensor y)
    {
        if (y.Device.Path == ComputePath.Host)
        {
            y.Device.Synchronize();
            TensorPrimitives.Add(a.HostSpan, b.HostSpan, y.HostSpan);
            return;
        }

        y.CopyFrom(a);
        Accumulate(b, y);
    }

    private static Tensor Row(Tensor t) => RowViews.GetValue(t, static x => x.Reshape(new Shape(1, checked((int)x.Length))));
}
