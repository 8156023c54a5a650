// A numerical gradient check for any compiled model: backward's parameter gradients against central
// differences of the loss, with the differences taken in double precision.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Engine.Nn;

/// <summary>Settings of <see cref="GradientCheck.Run"/>.</summary>
public sealed record GradientCheckOptions
{
    /// <summary>The perturbation of each parameter (float32 forward passes want about 1e-3 to 1e-2).</summary>
    public double Epsilon { get; init; } = 1e-3;

    /// <summary>Absolute tolerance.</summary>
    public double Atol { get; init; } = 1e-3;

    /// <summary>Relative tolerance (to the numerical gradient).</summary>
    public double Rtol { get; init; } = 2e-2;

    /// <summary>How many elements of each parameter to check (spread evenly); 0 checks all.</summary>
    public int MaxElementsPerParameter { get; init; } = 24;

    /// <summary>Seed of the output weights that define the scalar of a model without a loss.</summary>
    public int Seed { get; init; } = 7;
}

/// <summary>The outcome for one parameter.</summary>
/// <param name="Name">State-dict name (or <c>input</c>).</param>
/// <param name="Checked">Elements checked.</param>
/// <param name="WorstAbs">Largest |analytic - numeric|.</param>
/// <param name="WorstIndex">Element with the largest excess over the tolerance (or the largest error).</param>
/// <param name="Analytic">Backward's value there.</param>
/// <param name="Numeric">The central difference there.</param>
/// <param name="Passed">Whether every checked element was within tolerance.</param>
public sealed record GradientCheckEntry(string Name, int Checked, double WorstAbs, long WorstIndex, double Analytic, double Numeric, bool Passed);

/// <summary>The outcome of a gradient check.</summary>
/// <param name="Entries">One per trainable parameter.</param>
public sealed record GradientCheckResult(IReadOnlyList<GradientCheckEntry> Entries)
{
    /// <summary>Whether every parameter passed.</summary>
    public bool Passed => Entries.All(e => e.Passed);

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var e in Entries)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{e.Name,-24} {(e.Passed ? "ok  " : "FAIL")} checked {e.Checked,5}  worst abs {e.WorstAbs:0.0e+00} at [{e.WorstIndex}]: analytic {e.Analytic:G6}, numeric {e.Numeric:G6}\n");
        }

        return sb.ToString();
    }
}

/// <summary>
/// Checks a compiled training model's backward against central differences:
/// <c>(L(w + eps) - L(w - eps)) / (2 eps)</c> per checked parameter element, evaluated in double from float32
/// forward passes. L is the model's loss, or, without a loss, <c>sum(r * output)</c> for fixed random weights r.
/// Running statistics are restored afterwards and the random stream of dropout is held fixed, so the check
/// works in training mode with batch norm and dropout.
/// </summary>
public static class GradientCheck
{
    /// <summary>Runs the check on the model's current inputs and target.</summary>
    /// <exception cref="InvalidOperationException">The model is an inference plan or has no parameters.</exception>
    public static GradientCheckResult Run(CompiledModel model, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new GradientCheckOptions();
        if (!model.IsTrainingPlan)
        {
            throw new InvalidOperationException("The gradient check needs a model compiled with Training = true.");
        }

        var ps = model.Parameters;
        float[]? savedBuffers = model.Buffers.Values?.ToArray();
        long step = model.StepCount;
        float[]? weights = null;
        Tensor? seed = null;
        if (model.Loss is null)
        {
            var rng = new Random(options.Seed);
            weights = new float[model.Output.Length];
            for (int i = 0; i < weights.Length; i++)
            {
                weights[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            seed = Tensor.FromHost(model.Device, weights, model.Output.Shape);
        }

        try
        {
            // Analytic gradients.
            model.StepCount = step;
            model.Forward();
            if (seed is null)
            {
                model.Backward();
            }
            else
            {
                model.Backward(seed);
            }

            var grads = ps.Grads.ToArray();
            var values = ps.Values.ToArray();
            var entries = new List<GradientCheckEntry>();
            foreach (var p in ps.Where(p => p.RequiresGrad))
            {
                entries.Add(CheckParameter(model, p, values, grads, weights, savedBuffers, step, options));
            }

            ps.Values.CopyFrom(values);
            return new GradientCheckResult(entries);
        }
        finally
        {
            seed?.Dispose();
            if (savedBuffers is not null)
            {
                model.Buffers.Values!.CopyFrom(savedBuffers);
            }

            model.StepCount = step;
        }
    }

    private static GradientCheckEntry CheckParameter(CompiledModel model, Parameter p, float[] values, float[] grads, float[]? weights,
        float[]? buffers, long step, GradientCheckOptions o)
    {
        int n = (int)p.Length;
        int count = o.MaxElementsPerParameter <= 0 ? n : Math.Min(n, o.MaxElementsPerParameter);
        double worstAbs = 0, worstExcess = double.NegativeInfinity, wa = 0, wn = 0;
        long worstIndex = -1;
        bool passed = true;
        for (int k = 0; k < count; k++)
        {
            long i = p.Offset + (count == n ? k : (long)k * n / count);
            float orig = values[i];
            values[i] = (float)(orig + o.Epsilon);
            double up = Evaluate(model, values, weights, buffers, step);
            values[i] = (float)(orig - o.Epsilon);
            double down = Evaluate(model, values, weights, buffers, step);
            values[i] = orig;

            // The step actually taken in float32 may differ from 2 eps; use it.
            double h = (double)(float)(orig + o.Epsilon) - (float)(orig - o.Epsilon);
            double numeric = (up - down) / h;
            double analytic = grads[i];
            double err = Math.Abs(analytic - numeric);
            double excess = err - (o.Atol + (o.Rtol * Math.Abs(numeric)));
            if (double.IsNaN(err) || excess > 0)
            {
                passed = false;
            }

            worstAbs = Math.Max(worstAbs, double.IsNaN(err) ? double.PositiveInfinity : err);
            if (double.IsNaN(err) || excess > worstExcess)
            {
                worstExcess = double.IsNaN(err) ? double.PositiveInfinity : excess;
                worstIndex = i - p.Offset;
                wa = analytic;
                wn = numeric;
            }
        }

        return new GradientCheckEntry(p.Name, count, worstAbs, worstIndex, wa, wn, passed);
    }

    private static double Evaluate(CompiledModel model, float[] values, float[]? weights, float[]? buffers, long step)
    {
        model.Parameters.Values.CopyFrom(values);
        if (buffers is not null)
        {
            model.Buffers.Values!.CopyFrom(buffers);
        }

        model.StepCount = step;
        model.Forward();
        if (weights is null)
        {
            return model.ReadLoss();
        }

        var y = model.Output.ToArray();
        double sum = 0;
        for (int i = 0; i < y.Length; i++)
        {
            sum += (double)weights[i] * y[i];
        }

        return sum;
    }
}
