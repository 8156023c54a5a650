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
/// <param name="Kinks">
/// Elements where the function is not smooth within eps (a ReLU or max-pooling switch between w - eps and w + eps):
/// their one-sided differences disagree and the analytic value was accepted because it lies between them.
/// </param>
public sealed record GradientCheckEntry(string Name, int Checked, double WorstAbs, long WorstIndex, double Analytic, double Numeric, bool Passed, int Kinks = 0);

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
                $"{e.Name,-24} {(e.Passed ? "ok  " : "FAIL")} checked {e.Checked,5}  worst abs {e.WorstAbs:0.0e+00} at [{e.WorstIndex}]: analytic {e.Analytic:G6}, numeric {e.Numeric:G6}{(e.Kinks > 0 ? $"  ({e.Kinks} at kinks)" : string.Empty)}\n");
        }

        return sb.ToString();
    }
}

/// <summary>
/// Checks a compiled training model's backward against central differences:
/// <c>(L(w + eps) - L(w - eps)) / (2 eps)</c> per checked parameter element, evaluated in double from float32
/// forward passes. L is the model's loss, or, without a loss, <c>sum(r * output)</c> for fixed random weights r.
/// Where L has a kink within eps of w (ReLU, max pooling), the central difference averages two slopes; there the
/// analytic value passes when it lies between the one-sided differences <c>(L(w + eps) - L(w)) / eps</c> and
/// <c>(L(w) - L(w - eps)) / eps</c>, and the element is counted in <see cref="GradientCheckEntry.Kinks"/>.
/// Running statistics are restored afterwards and the random stream of dropout is held fixed, so the check
/// works in training mode with batch norm and dropout.
/// </summary>
public static class GradientCheck
{
    /// <summary>Runs the check on the model's current inputs and target (and on the inputs when compiled with <see cref="CompileOptions.InputGradients"/>).</summary>
    /// <exception cref="InvalidOperationException">The model is an inference plan.</exception>
    public static GradientCheckResult Run(CompiledModel model, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new GradientCheckOptions();
        if (!model.IsTrainingPlan)
        {
            throw new InvalidOperationException("The gradient check needs a model compiled with Training = true.");
        }

        var probe = new Probe(model, options);
        try
        {
            probe.Baseline = probe.Evaluate();

            // Analytic gradients.
            probe.Seed();
            model.StepCount = probe.Step;
            model.Forward();
            model.Backward();
            var entries = new List<GradientCheckEntry>();
            if (model.HasParameters)
            {
                var ps = model.Parameters;
                var values = ps.Values.ToArray();
                foreach (var p in ps.Where(p => p.RequiresGrad))
                {
                    entries.Add(Check(p.Name, ps.Values, values, p.Offset, p.Length, p.Grad.ToArray(), probe));
                }

                ps.Values.CopyFrom(values);
            }

            for (int i = 0; i < model.Inputs.Count; i++)
            {
                if (model.InputGrad(i) is { } dx)
                {
                    var x = model.Inputs[i].ToArray();
                    entries.Add(Check(model.Inputs.Count == 1 ? "input" : $"input{i}", model.Inputs[i], x, 0, x.Length, dx.ToArray(), probe));
                    model.Inputs[i].CopyFrom(x);
                }
            }

            return new GradientCheckResult(entries);
        }
        finally
        {
            probe.Restore();
        }
    }

    private static GradientCheckEntry Check(string name, Tensor target, float[] values, long offset, long length, float[] grads, Probe probe)
    {
        var o = probe.Options;
        int n = (int)length;
        int count = o.MaxElementsPerParameter <= 0 ? n : Math.Min(n, o.MaxElementsPerParameter);
        double worstAbs = 0, worstExcess = double.NegativeInfinity, wa = 0, wn = 0;
        long worstIndex = -1;
        bool passed = true;
        int kinks = 0;
        for (int k = 0; k < count; k++)
        {
            long i = offset + (count == n ? k : (long)k * n / count);
            float orig = values[i];
            values[i] = (float)(orig + o.Epsilon);
            target.CopyFrom(values);
            double up = probe.Evaluate();
            values[i] = (float)(orig - o.Epsilon);
            target.CopyFrom(values);
            double down = probe.Evaluate();
            values[i] = orig;

            // The steps actually taken in float32 may differ from eps; divide by them.
            double hUp = (double)(float)(orig + o.Epsilon) - orig, hDown = orig - (double)(float)(orig - o.Epsilon);
            double numeric = (up - down) / (hUp + hDown);
            double analytic = grads[i - offset];
            double err = Math.Abs(analytic - numeric);
            double tol = o.Atol + (o.Rtol * Math.Abs(numeric));
            double excess = err - tol;
            if (!(excess <= 0))
            {
                double right = (up - probe.Baseline) / hUp, left = (probe.Baseline - down) / hDown;
                if (analytic >= Math.Min(left, right) - tol && analytic <= Math.Max(left, right) + tol)
                {
                    kinks++;
                    excess = 0;
                }
                else
                {
                    passed = false;
                }
            }

            worstAbs = Math.Max(worstAbs, double.IsNaN(err) ? double.PositiveInfinity : err);
            if (double.IsNaN(err) || excess > worstExcess)
            {
                worstExcess = double.IsNaN(err) ? double.PositiveInfinity : excess;
                worstIndex = i - offset;
                wa = analytic;
                wn = numeric;
            }
        }

        target.CopyFrom(values);
        return new GradientCheckEntry(name, count, worstAbs, worstIndex, wa, wn, passed, kinks);
    }

    /// <summary>Evaluates the scalar with running statistics and the random stream held fixed.</summary>
    private sealed class Probe
    {
        private readonly CompiledModel model;
        private readonly float[]? buffers;
        private readonly float[][] weights;

        public Probe(CompiledModel model, GradientCheckOptions options)
        {
            this.model = model;
            Options = options;
            Step = model.StepCount;
            buffers = model.Buffers.Values?.ToArray();
            var rng = new Random(options.Seed);
            weights = model.Loss is not null
                ? []
                : Enumerable.Range(0, model.Outputs.Count).Select(i => model.OutputGrad(i) is null
                    ? Array.Empty<float>()
                    : Enumerable.Range(0, (int)model.Outputs[i].Length).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray()).ToArray();
        }

        public GradientCheckOptions Options { get; }

        public long Step { get; }

        /// <summary>L at the unperturbed point.</summary>
        public double Baseline { get; set; }

        /// <summary>Without a loss, writes the output weights as the output gradients.</summary>
        public void Seed()
        {
            for (int i = 0; i < weights.Length; i++)
            {
                if (weights[i].Length > 0)
                {
                    model.OutputGrad(i)!.CopyFrom(weights[i]);
                }
            }
        }

        public double Evaluate()
        {
            if (buffers is not null)
            {
                model.Buffers.Values!.CopyFrom(buffers);
            }

            model.StepCount = Step;
            model.Forward();
            if (model.Loss is not null)
            {
                return model.ReadLoss();
            }

            double sum = 0;
            for (int k = 0; k < weights.Length; k++)
            {
                if (weights[k].Length == 0)
                {
                    continue;
                }

                var y = model.Outputs[k].ToArray();
                for (int i = 0; i < y.Length; i++)
                {
                    sum += (double)weights[k][i] * y[i];
                }
            }

            return sum;
        }

        public void Restore()
        {
            if (buffers is not null)
            {
                model.Buffers.Values!.CopyFrom(buffers);
            }

            model.StepCount = Step;
        }
    }
}
