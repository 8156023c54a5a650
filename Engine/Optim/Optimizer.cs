// The optimizer base: parameter groups, flat state buffers named like PyTorch's state, and the step plan.
using System;
using System.Collections.Generic;
using System.Linq;
using Engine.Kernels.Optim;
using Engine.Nn;

namespace Engine.Optim;

/// <summary>
/// Base of the optimizers. State tensors (momentum buffers, exp_avg, ...) are flat device buffers laid out like
/// <see cref="ParameterSet.Values"/>, under PyTorch's state names; per-parameter scalars (<c>step</c>, NAdam's
/// <c>mu_product</c>) live on the host. <see cref="Step"/> updates every trainable parameter with one fused launch
/// per parameter group (parameters of a group that have taken different numbers of steps, which happens only
/// when one was frozen for a while, get a launch of their own). Frozen parameters are never touched.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly Dictionary<string, Tensor> state = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (double Initial, double[] Values)> scalars = new(StringComparer.Ordinal);
    private readonly List<double[]> scalarArrays = new();
    private readonly List<ParamGroup> groups = new();
    private readonly int[] groupOf;
    private readonly bool[] planMask;
    private readonly int[] unitOf;
    private readonly List<StepUnit> units = new();
    private bool planValid;
    private bool disposed;

    /// <summary>Creates the groups: one per distinct <see cref="Parameter.Group"/> (null is "default"), in order.</summary>
    /// <exception cref="ArgumentException">Options of the wrong type, or group options naming no group.</exception>
    private protected Optimizer(OptimizerDefinition definition, ParameterSet parameters, OptimizerOptions defaults, IReadOnlyDictionary<string, OptimizerOptions>? groupOptions)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(defaults);
        Definition = definition;
        string name = definition.Name;
        Parameters = parameters;
        defaults.Validate();
        Defaults = defaults;
        var members = new Dictionary<string, List<Parameter>>(StringComparer.Ordinal);
        var order = new List<string>();
        groupOf = new int[parameters.Count];
        for (int i = 0; i < parameters.Count; i++)
        {
            string g = parameters[i].Group ?? ParamGroup.DefaultName;
            if (!members.TryGetValue(g, out var list))
            {
                list = new List<Parameter>();
                members[g] = list;
                order.Add(g);
            }

            list.Add(parameters[i]);
            groupOf[i] = order.IndexOf(g);
        }

        if (groupOptions is not null)
        {
            foreach (var (g, o) in groupOptions)
            {
                if (!members.ContainsKey(g))
                {
                    throw new ArgumentException($"Group options name group '{g}', but the parameters' groups are: {string.Join(", ", order)}.", nameof(groupOptions));
                }

                if (o is null || o.GetType() != defaults.GetType())
                {
                    throw new ArgumentException($"Group '{g}' options are {o?.GetType().Name ?? "null"}; {name} takes {defaults.GetType().Name}.", nameof(groupOptions));
                }

                o.Validate();
            }
        }

        for (int k = 0; k < order.Count; k++)
        {
            var opts = groupOptions is not null && groupOptions.TryGetValue(order[k], out var o) ? o : defaults;
            groups.Add(new ParamGroup(order[k], k, opts, members[order[k]]));
        }

        planMask = new bool[parameters.Count];
        unitOf = new int[parameters.Count];
        AddScalarState("step", 0);
    }

    /// <summary>The optimizer's row of <see cref="OptimizerTable"/>.</summary>
    public OptimizerDefinition Definition { get; }

    /// <summary>PyTorch's name of the optimizer (sgd, adagrad, adadelta, rmsprop, adam, adamw, adamax, nadam), from the table.</summary>
    public string Name => Definition.Name;

    /// <summary>The parameters this optimizer updates.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>The options given for parameters without group overrides.</summary>
    public OptimizerOptions Defaults { get; }

    /// <summary>The device holding parameters and state.</summary>
    public Device Device => Parameters.Device;

    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<ParamGroup> Groups => groups;

    /// <summary>Number of <see cref="Step"/> calls so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>The implementation variant to use (e.g. <c>kernel.fused</c>, <c>host.simd</c>); null: the device default.</summary>
    public string? Variant { get; set; }

    /// <summary>Number of fused launches the last <see cref="Step"/> made (one per group, normally).</summary>
    internal int LaunchUnitCount => units.Count;

    /// <summary>Names of the state buffers allocated so far (each a flat tensor laid out like the parameters).</summary>
    public IReadOnlyCollection<string> StateNames => state.Keys;

    /// <summary>Names of the per-parameter host scalars (always <c>step</c>; NAdam adds <c>mu_product</c>).</summary>
    public IReadOnlyCollection<string> ScalarStateNames => scalars.Keys;

    /// <summary>The state buffer <paramref name="name"/>: flat, element i belongs to the parameter element i of <see cref="ParameterSet.Values"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such buffer; the message lists the allocated ones.</exception>
    public Tensor GetState(string name) => state.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"{Name} has no state buffer '{name}'; allocated: {string.Join(", ", state.Keys)}.");

    /// <summary>Whether <paramref name="name"/> is a state buffer this optimizer can hold (allocated or not).</summary>
    public bool IsStateName(string name) => AllStateNames.Contains(name, StringComparer.Ordinal);

    /// <summary>Every state buffer name this optimizer may allocate (from the table).</summary>
    public IReadOnlyList<string> AllStateNames => Definition.StateNames;

    /// <summary>The state buffer <paramref name="name"/>, allocated (zero-filled) if it was not yet.</summary>
    /// <exception cref="ArgumentException">The optimizer has no state of that name.</exception>
    public Tensor EnsureState(string name)
    {
        if (state.TryGetValue(name, out var t))
        {
            return t;
        }

        if (!IsStateName(name))
        {
            throw new ArgumentException($"{Name} has no state '{name}'; its state names are: {string.Join(", ", AllStateNames)}.", nameof(name));
        }

        t = Tensor.Zeros(Device, new Shape(checked((int)Parameters.TotalLength)));
        state[name] = t;
        return t;
    }

    /// <summary>A copy of the per-parameter scalar <paramref name="name"/> (indexed like <see cref="Parameters"/>).</summary>
    public double[] GetScalarState(string name) => (double[])ScalarArray(name).Clone();

    /// <summary>Sets the per-parameter scalar <paramref name="name"/> (one value per parameter).</summary>
    /// <exception cref="ArgumentException">The length differs from the parameter count.</exception>
    public void SetScalarState(string name, ReadOnlySpan<double> values)
    {
        var a = ScalarArray(name);
        if (values.Length != a.Length)
        {
            throw new ArgumentException($"Scalar state '{name}' needs {a.Length} values (one per parameter), got {values.Length}.", nameof(values));
        }

        values.CopyTo(a);
        planValid = false;
    }

    /// <summary>Sets <see cref="StepCount"/> (when restoring a checkpoint).</summary>
    public void SetStepCount(long steps) => StepCount = steps >= 0 ? steps : throw new ArgumentOutOfRangeException(nameof(steps));

    /// <summary>The group with name <paramref name="name"/>.</summary>
    public ParamGroup Group(string name) => groups.FirstOrDefault(g => g.Name == name)
        ?? throw new KeyNotFoundException($"No group '{name}'; groups: {string.Join(", ", groups.Select(g => g.Name))}.");

    /// <summary>Sets every group's learning rate.</summary>
    public void SetLR(double lr)
    {
        foreach (var g in groups)
        {
            g.LR = lr;
        }
    }

    /// <summary>
    /// Applies one update to every trainable parameter from the gradients in <see cref="ParameterSet.Grads"/>.
    /// Launches are queued on the device stream; nothing is copied to the host.
    /// </summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (Parameters[i].RequiresGrad)
            {
                AdvanceScalars(i);
            }
        }

        EnsurePlan();
        foreach (var u in units)
        {
            Launch(u);
        }

        StepCount++;
    }

    /// <summary>Sets every gradient to zero (PyTorch's <c>zero_grad(set_to_none=False)</c>).</summary>
    public void ZeroGrad() => Parameters.ZeroGrads();

    /// <summary>Zeroes every state buffer and resets the scalars, as if no step had been taken.</summary>
    public void ResetState()
    {
        foreach (var t in state.Values)
        {
            t.Fill(0f);
        }

        foreach (var (_, (init, values)) in scalars)
        {
            Array.Fill(values, init);
        }

        InitializeState();
        StepCount = 0;
        planValid = false;
    }

    /// <summary>Frees the state buffers.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        DisposeUnits();
        foreach (var t in state.Values)
        {
            t.Dispose();
        }

        state.Clear();
        GC.SuppressFinalize(this);
    }

    /// <summary>Sets state that does not start at zero (Adagrad's accumulator); called by constructors and resets.</summary>
    private protected virtual void InitializeState()
    {
    }

    /// <summary>Advances the per-parameter scalars of a trainable parameter before its update.</summary>
    private protected virtual void AdvanceScalars(int index) => ScalarArray("step")[index] += 1;

    /// <summary>Queues the update of one launch unit.</summary>
    private protected abstract void Launch(StepUnit unit);

    /// <summary>Index in <see cref="Groups"/> of parameter <paramref name="paramIndex"/>'s group.</summary>
    private protected int GroupIndexOf(int paramIndex) => groupOf[paramIndex];

    /// <summary>Registers a per-parameter scalar.</summary>
    private protected void AddScalarState(string name, double initial)
    {
        var a = new double[Parameters.Count];
        Array.Fill(a, initial);
        scalars[name] = (initial, a);
        scalarArrays.Add(a);
    }

    /// <summary>The live array of a scalar state.</summary>
    private protected double[] ScalarArray(string name) => scalars.TryGetValue(name, out var s)
        ? s.Values
        : throw new KeyNotFoundException($"{Name} has no scalar state '{name}'; it has: {string.Join(", ", scalars.Keys)}.");

    /// <summary>Regularization of a group: coupled L2 (unless <paramref name="decoupledWeightDecay"/>), L1, decoupled decay.</summary>
    private protected static RegParams Reg(ParamGroup g, bool decoupledWeightDecay = false)
    {
        var o = g.Options;
        double decoupled = o.DecoupledWeightDecay + (decoupledWeightDecay ? o.WeightDecay : 0);
        return new RegParams
        {
            WeightDecay = decoupledWeightDecay ? 0f : (float)o.WeightDecay,
            L1 = (float)o.L1,
            DecayScale = (float)(1 - (g.LR * decoupled)),
        };
    }

    /// <summary>Arguments for the dispatch table: flat buffers and the unit's chunk table.</summary>
    private protected OptimStepArgs Args(StepUnit u, string? s0 = null, string? s1 = null, string? s2 = null)
    {
        var w = Parameters.Values.View;
        return new OptimStepArgs
        {
            W = w,
            G = Parameters.Grads.View,
            S0 = s0 is null ? w : EnsureState(s0).View,
            S1 = s1 is null ? w : EnsureState(s1).View,
            S2 = s2 is null ? w : EnsureState(s2).View,
            UsedStates = (s0 is null ? 0 : 1) | (s1 is null ? 0 : 2) | (s2 is null ? 0 : 4),
            Chunks = u.Chunks.View,
            ChunkCount = u.Chunks.Count,
            HostChunks = u.Chunks.Host,
        };
    }

    private void EnsurePlan()
    {
        if (planValid)
        {
            for (int i = 0; i < planMask.Length && planValid; i++)
            {
                bool t = Parameters[i].RequiresGrad;
                if (t != planMask[i])
                {
                    planValid = false;
                }
                else if (t)
                {
                    int rep = units[unitOf[i]].Representative;
                    foreach (var a in scalarArrays)
                    {
                        if (a[i] != a[rep])
                        {
                            planValid = false;
                            break;
                        }
                    }
                }
            }
        }

        if (!planValid)
        {
            Rebuild();
        }
    }

    private void Rebuild()
    {
        DisposeUnits();
        var ranges = new List<List<(long, long)>>();
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            planMask[i] = p.RequiresGrad;
            if (!p.RequiresGrad)
            {
                continue;
            }

            int u = -1;
            for (int k = 0; k < units.Count && u < 0; k++)
            {
                if (groupOf[units[k].Representative] == groupOf[i] && SameScalars(units[k].Representative, i))
                {
                    u = k;
                }
            }

            if (u < 0)
            {
                u = units.Count;
                units.Add(new StepUnit(groups[groupOf[i]], i));
                ranges.Add(new List<(long, long)>());
            }

            unitOf[i] = u;
            ranges[u].Add((p.Offset, p.Length));
        }

        for (int k = 0; k < units.Count; k++)
        {
            units[k].Chunks = ChunkTable.Build(Device, ranges[k]);
        }

        planValid = true;
    }

    private bool SameScalars(int a, int b)
    {
        foreach (var s in scalarArrays)
        {
            if (s[a] != s[b])
            {
                return false;
            }
        }

        return true;
    }

    private void DisposeUnits()
    {
        if (units.Count > 0)
        {
            Device.Synchronize();
        }

        foreach (var u in units)
        {
            u.Chunks?.Dispose();
        }

        units.Clear();
    }
}

/// <summary>The parameters of one group that share their scalar state, updated by one launch.</summary>
internal sealed class StepUnit(ParamGroup group, int representative)
{
    /// <summary>The group.</summary>
    public ParamGroup Group { get; } = group;

    /// <summary>Index of a parameter of the unit, whose scalars (step, ...) the launch uses.</summary>
    public int Representative { get; } = representative;

    /// <summary>The elements the launch covers.</summary>
    public ChunkTable Chunks { get; set; } = null!;
}
