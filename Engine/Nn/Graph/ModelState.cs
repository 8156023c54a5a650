// The parameters and buffers of a root module on one device, created and initialized at its first compile.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>A root module's device state: its <see cref="ParameterSet"/>, <see cref="BufferSet"/> and where each module's entries are.</summary>
internal sealed class ModelState : IDisposable
{
    private ModelState(ParameterSet? parameters, BufferSet buffers, string[] layout)
    {
        Parameters = parameters;
        Buffers = buffers;
        Layout = layout;
    }

    public ParameterSet? Parameters { get; }

    public BufferSet Buffers { get; }

    /// <summary>The state-dict names in order, to detect a module tree that changed since the first compile.</summary>
    public string[] Layout { get; }

    /// <summary>
    /// The state of <paramref name="root"/> on <paramref name="device"/>, created and initialized (seeded) when missing:
    /// each parameter by its layer's rule, or by <paramref name="rule"/> where that gives one and the layer's is not explicit.
    /// </summary>
    public static ModelState Ensure(Module root, Device device, IReadOnlyList<(string Path, Module Module)> walk, int seed, InitRule? rule = null, Func<Module, Layer?>? next = null)
    {
        var pspecs = new List<(string Name, ParamSpec Spec, Module Owner)>();
        var bspecs = new List<(string Name, BufferSpec Spec)>();
        foreach (var (path, m) in walk)
        {
            string prefix = path.Length == 0 ? string.Empty : path + ".";
            pspecs.AddRange(m.ParameterSpecs.Select(p => (prefix + p.Name, p, m)));
            bspecs.AddRange(m.BufferSpecs.Select(b => (prefix + b.Name, b)));
        }

        var layout = pspecs.Select(p => p.Name + Shape.Format(p.Spec.Shape.ToArray()))
            .Concat(bspecs.Select(b => b.Name + Shape.Format(b.Spec.Shape.ToArray()))).ToArray();
        var existing = root.StateOn(device);
        if (existing is not null)
        {
            if (!existing.Layout.SequenceEqual(layout))
            {
                throw new InvalidOperationException(
                    "The model's parameters changed since it was first compiled on this device (a layer added or replaced); build the model " +
                    "anew (or dispose it, which frees its parameters) and compile again, loading saved weights with a partial load if needed.");
            }

            return existing;
        }

        ParameterSet? ps = pspecs.Count == 0 ? null : ParameterSet.CreateForModule(device, pspecs.Select(p => (p.Name, p.Spec.Shape, p.Spec.Role)));
        var bs = BufferSet.Create(device, bspecs.Select(b => (b.Name, b.Spec.Shape, b.Spec.InitialValue)));
        try
        {
            // Parameter i draws from Philox stream (seed, i): the same values on every device and run.
            for (int i = 0; i < pspecs.Count; i++)
            {
                var (name, spec, owner) = pspecs[i];
                var init = spec.Init;
                if (rule is not null && !spec.ExplicitInit && rule(new InitContext(name, owner, spec, next?.Invoke(owner))) is { } chosen)
                {
                    Init.CheckFits(chosen, spec.Shape, name);
                    init = chosen;
                }

                Init.Apply(ps![name].Value, init, ((ulong)(uint)seed << 32) | (uint)i);
            }
        }
        catch
        {
            ps?.Release();
            bs.Release();
            throw;
        }

        SetInitialValues(walk, ps, bs);
        var state = new ModelState(ps, bs, layout);
        root.SetState(device, state);
        return state;
    }

    public void Dispose()
    {
        Parameters?.Release();
        Buffers.Release();
    }

    /// <summary>Copies the values modules were given with <see cref="Module.SetInitialValues"/> over their initialization.</summary>
    private static void SetInitialValues(IReadOnlyList<(string Path, Module Module)> walk, ParameterSet? ps, BufferSet bs)
    {
        foreach (var (path, m) in walk)
        {
            if (m.InitialValues is not { } values)
            {
                continue;
            }

            string prefix = path.Length == 0 ? string.Empty : path + ".";
            foreach (var (name, data) in values)
            {
                string full = prefix + name;
                var t = ps is not null && ps.Contains(full) ? ps[full].Value
                    : bs.Contains(full) ? bs[full].Value
                    : throw new InvalidOperationException($"Initial value '{full}' ({m.Describe()}) names no parameter or buffer of the model.");
                if (t.Length != data.Length)
                {
                    throw new InvalidOperationException($"Initial value '{full}' has {data.Length} values but the tensor is {t.Shape} ({t.Length}).");
                }

                t.CopyFrom(data);
            }
        }
    }
}
