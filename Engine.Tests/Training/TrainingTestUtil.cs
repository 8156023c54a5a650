// Helpers for the trainer tests: small separable datasets, small models, a synchronous progress sink, a capturing
// logger, a layer that injects NaN at a chosen step, and exact comparisons of model state.
using System;
using System.Collections.Generic;
using Engine.Data;
using Engine.Nn;
using Engine.Ops;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Engine.Tests.Training;

internal static class TrainingTestUtil
{
    /// <summary>Gaussian blobs: class k centred at a fixed random point, radius <paramref name="spread"/>.</summary>
    public static InMemoryDataset Blobs(int count, int features, int classes, int seed, float spread = 0.35f, bool shuffleLabels = false)
    {
        var rng = new Random(seed);
        var centres = new float[classes * features];
        var centreRng = new Random(1234);
        for (int i = 0; i < centres.Length; i++)
        {
            centres[i] = (float)((centreRng.NextDouble() * 4) - 2);
        }

        var f = new float[count * features];
        var l = new int[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % classes;
            l[i] = shuffleLabels ? (c + 1) % classes : c;
            for (int j = 0; j < features; j++)
            {
                double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
                double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                f[(i * features) + j] = centres[(c * features) + j] + (spread * (float)normal);
            }
        }

        return new InMemoryDataset(f, l, new Shape(features), classes);
    }

    /// <summary>Linear(in, hidden), [BatchNorm1d], ReLU, [insert], [Dropout(p)], Linear(hidden, classes).</summary>
    public static Sequential Mlp(int features, int hidden, int classes, bool batchNorm = false, float dropout = 0f, Layer? insert = null)
    {
        var layers = new List<Module> { new Linear(features, hidden) };
        if (batchNorm)
        {
            layers.Add(new BatchNorm1d(hidden));
        }

        layers.Add(new Relu());
        if (insert is not null)
        {
            layers.Add(insert);
        }
        if (dropout > 0)
        {
            layers.Add(new Nn.Dropout(dropout));
        }

        layers.Add(new Linear(hidden, classes));
        return new Sequential(layers.ToArray());
    }

    /// <summary>Parameters and buffers as one array (bit-exact comparisons).</summary>
    public static float[] State(CompiledModel net)
    {
        var p = net.Parameters.Values.ToArray();
        return net.Buffers.Values is { } b ? [.. p, .. b.ToArray()] : p;
    }

    public static void AssertBitwise(float[] got, float[] want, string what)
    {
        Assert.That(got.Length, Is.EqualTo(want.Length), what);
        for (int i = 0; i < got.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(got[i]) != BitConverter.SingleToInt32Bits(want[i]))
            {
                Assert.Fail($"{what}: element {i} is {got[i]:R}, expected {want[i]:R} (bit for bit)");
            }
        }
    }
}

/// <summary>Collects reports synchronously (Progress&lt;T&gt; would post them to the thread pool) and can act on each.</summary>
internal sealed class ListProgress<T>(Action<T>? onReport = null) : IProgress<T>
{
    public List<T> Reports { get; } = new();

    public void Report(T value)
    {
        Reports.Add(value);
        onReport?.Invoke(value);
    }
}

/// <summary>A logger that keeps the formatted messages.</summary>
internal sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Add((logLevel, formatter(state, exception)));
}

/// <summary>Passes its input through, and writes NaN into its output (forward) or its input gradient (backward) at one step.</summary>
internal sealed class Poison(long atStep, NodePhase phase) : Layer
{
    public override string Describe() => $"Poison(step {atStep}, {phase})";

    public override Shape[] InferShapes(IReadOnlyList<Shape> inputs) => [inputs[0]];

    public override void Forward(NodeContext context)
    {
        Elementwise.Copy(context.Input(), context.Output());
        if (phase == NodePhase.Forward && context.Training && context.Step == atStep)
        {
            context.Output().Fill(float.NaN);
        }
    }

    public override void Backward(NodeContext context)
    {
        if (context.InputGrad() is { } dx)
        {
            Elementwise.Copy(context.OutputGrad(), dx);
            if (phase == NodePhase.Backward && context.Step == atStep)
            {
                dx.Fill(float.PositiveInfinity);
            }
        }
    }
}
