// Helpers for the graph tests: deterministic parameters, a double-precision host reference of Linear, and the
// gradient proof used on every device.
using System;
using System.Linq;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Graph;

internal static class GraphTestUtil
{
    private static readonly DeviceConfig HostConfig = new("cpu-host", DeviceKind.Cpu, ForceKernels: false);

    /// <summary>Fills every parameter with seeded values in [-scale, scale).</summary>
    public static void Randomize(ParameterSet ps, int seed, float scale = 0.5f)
    {
        ps.Values.CopyFrom(HostMath.Random((int)ps.TotalLength, seed, -scale, scale));
    }

    /// <summary>Fills every input with seeded values.</summary>
    public static void RandomInputs(CompiledModel net, int seed)
    {
        for (int i = 0; i < net.Inputs.Count; i++)
        {
            net.Inputs[i].CopyFrom(HostMath.Random((int)net.Inputs[i].Length, seed + i));
        }
    }

    /// <summary>
    /// Proves a compiled model's gradients. On the host path: central differences (<see cref="GradientCheck"/>).
    /// On kernel paths (slow to run hundreds of forward passes on the CPU simulator): the same parameters and
    /// inputs compiled on the host path, which is proven by central differences, must give the same loss,
    /// outputs and gradients.
    /// </summary>
    public static void AssertGradients(CompiledModel net, CompileOptions? options = null, GradientCheckOptions? check = null, double tol = 1e-4)
    {
        if (net.Device.Path == ComputePath.Host)
        {
            var r = GradientCheck.Run(net, check);
            Assert.That(r.Passed, Is.True, r.ToString());
            Assert.That(r.Entries, Is.Not.Empty);
        }

        // The host path (proven above on host runs) with every buffer in its own memory: equal results on every
        // device, and proof that no layer reads memory it did not ask the planner to keep.
        var host = TestDevices.Get(HostConfig);
        using var reference = net.Model.Compile(host, net.Inputs.Select(t => t.Shape).ToList(), LossOf(net), (options ?? net.Options) with { ShareMemory = false });
        reference.Parameters.Values.CopyFrom(net.Parameters.Values.ToArray());
        if (net.Buffers.Values is { } bv)
        {
            reference.Buffers.Values!.CopyFrom(bv.ToArray());
        }

        for (int i = 0; i < net.Inputs.Count; i++)
        {
            reference.Inputs[i].CopyFrom(net.Inputs[i].ToArray());
        }

        if (net.Target is { } t)
        {
            reference.Target!.CopyFrom(t.ToArray());
        }

        reference.Training = net.Training;
        reference.Seed = net.Seed;
        reference.StepCount = net.StepCount;
        Run(reference);
        Run(net);
        for (int i = 0; i < net.Outputs.Count; i++)
        {
            HostMath.AssertClose(net.Outputs[i].ToArray(), GradCheck.ToDouble(reference.Outputs[i].ToArray()), tol, 1e-3, $"output {i} vs host path");
        }

        foreach (var p in net.Parameters.Where(p => p.RequiresGrad))
        {
            HostMath.AssertClose(p.Grad.ToArray(), GradCheck.ToDouble(reference.Parameters[p.Name].Grad.ToArray()), tol, 1e-3, $"grad {p.Name} vs host path");
        }

        for (int i = 0; i < net.Inputs.Count; i++)
        {
            if (net.InputGrad(i) is { } dx)
            {
                HostMath.AssertClose(dx.ToArray(), GradCheck.ToDouble(reference.InputGrad(i)!.ToArray()), tol, 1e-3, $"input grad {i} vs host path");
            }
        }
    }

    /// <summary>y = x W^T + b in double (x: rows x in, W: out x in).</summary>
    public static double[] Linear(double[] x, int rows, float[] w, float[]? b, int inF, int outF)
    {
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outF; o++)
            {
                double acc = b is null ? 0 : b[o];
                for (int i = 0; i < inF; i++)
                {
                    acc += x[(r * inF) + i] * w[(o * inF) + i];
                }

                y[(r * outF) + o] = acc;
            }
        }

        return y;
    }

    public static double[] ToDouble(float[] a) => GradCheck.ToDouble(a);

    private static ILossSpec? LossOf(CompiledModel net) => net.LossSpec;

    private static void Run(CompiledModel net)
    {
        long step = net.StepCount;
        var buffers = net.Buffers.Values?.ToArray();
        net.Forward();
        if (net.Loss is null)
        {
            for (int i = 0; i < net.Outputs.Count; i++)
            {
                net.OutputGrad(i)?.CopyFrom(HostMath.Random((int)net.Outputs[i].Length, 1000 + i));
            }
        }

        net.Backward();
        net.StepCount = step;
        if (buffers is not null)
        {
            net.Buffers.Values!.CopyFrom(buffers);
        }
    }
}
