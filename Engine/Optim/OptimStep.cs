// The optimizer dispatch contract (flat buffers + chunk table) and the host SIMD driver shared by every rule struct.
using System;
using System.Numerics;
using Engine.Backends.Cpu;
using Engine.Kernels.Optim;
using ILGPU;

namespace Engine.Optim;

/// <summary>An implementation of one optimizer's step over the elements of a chunk table.</summary>
/// <typeparam name="TRule">The optimizer's rule struct (its step's scalars).</typeparam>
internal delegate void OptimStepImpl<TRule>(Device device, in OptimStepArgs args, RegParams reg, TRule rule) where TRule : struct, IOptimizerRule;

/// <summary>Flat buffers of one optimizer launch. Unused state views alias <see cref="W"/>.</summary>
internal readonly struct OptimStepArgs
{
    /// <summary>Weights (all parameters, flat).</summary>
    internal ArrayView<float> W { get; init; }

    /// <summary>Gradients, laid out like <see cref="W"/>.</summary>
    internal ArrayView<float> G { get; init; }

    /// <summary>First state buffer.</summary>
    internal ArrayView<float> S0 { get; init; }

    /// <summary>Second state buffer.</summary>
    internal ArrayView<float> S1 { get; init; }

    /// <summary>Third state buffer.</summary>
    internal ArrayView<float> S2 { get; init; }

    /// <summary>Bit k set: state buffer k is used.</summary>
    public int UsedStates { get; init; }

    /// <summary>(start, count) chunk pairs on the device.</summary>
    internal ArrayView<int> Chunks { get; init; }

    /// <summary>Number of chunks.</summary>
    public int ChunkCount { get; init; }

    /// <summary>The same pairs on the host.</summary>
    public int[] HostChunks { get; init; }
}

/// <summary>
/// Runs an <see cref="IOptimizerRule"/>'s vector form over a chunk table on the CPU device: chunks in parallel on
/// <see cref="HostParallel"/>, each chunk in SIMD vectors; the tail of a chunk goes through the same vector code on
/// a padded copy, so every element is computed the same way on every run (bit-identical results).
/// </summary>
internal static unsafe class HostOptim
{
    public static void Run<TRule>(Device device, in OptimStepArgs a, RegParams reg, TRule rule) where TRule : struct, IOptimizerRule
    {
        ArgumentNullException.ThrowIfNull(device);
        if (a.ChunkCount == 0)
        {
            return;
        }

        device.Synchronize();
        fixed (float* w = Backends.HostViews.Span(a.W), g = Backends.HostViews.Span(a.G),
               s0 = Backends.HostViews.Span(a.S0), s1 = Backends.HostViews.Span(a.S1), s2 = Backends.HostViews.Span(a.S2))
        fixed (int* chunks = a.HostChunks)
        {
            var body = new Body<TRule>
            {
                W = w,
                G = g,
                S0 = (a.UsedStates & 1) != 0 ? s0 : null,
                S1 = (a.UsedStates & 2) != 0 ? s1 : null,
                S2 = (a.UsedStates & 4) != 0 ? s2 : null,
                Chunks = chunks,
                Rule = rule,
                Wd = new Vector<float>(reg.WeightDecay),
                L1 = new Vector<float>(reg.L1),
                Scale = new Vector<float>(reg.DecayScale),
                HasWd = reg.WeightDecay != 0f,
                HasL1 = reg.L1 != 0f,
                HasScale = reg.DecayScale != 1f,
            };
            HostParallel.For(a.ChunkCount, ref body);
        }
    }

    private struct Body<TRule> : IRangeBody where TRule : struct, IOptimizerRule
    {
        public float* W, G, S0, S1, S2;
        public int* Chunks;
        public TRule Rule;
        public Vector<float> Wd, L1, Scale;
        public bool HasWd, HasL1, HasScale;

        public void Run(int start, int end)
        {
            int vc = Vector<float>.Count;
            float* tw = stackalloc float[vc];
            float* tg = stackalloc float[vc];
            float* t0 = stackalloc float[vc];
            float* t1 = stackalloc float[vc];
            float* t2 = stackalloc float[vc];
            for (int c = start; c < end; c++)
            {
                int s = Chunks[2 * c];
                int n = Chunks[(2 * c) + 1];
                int i = 0;
                for (; i + vc <= n; i += vc)
                {
                    int k = s + i;
                    Element(W + k, G + k, S0 == null ? null : S0 + k, S1 == null ? null : S1 + k, S2 == null ? null : S2 + k);
                }

                int r = n - i;
                if (r > 0)
                {
                    int k = s + i;
                    Pad(tw, W + k, r, vc);
                    Pad(tg, G + k, r, vc);
                    Pad(t0, S0 == null ? null : S0 + k, r, vc);
                    Pad(t1, S1 == null ? null : S1 + k, r, vc);
                    Pad(t2, S2 == null ? null : S2 + k, r, vc);
                    Element(tw, tg, S0 == null ? null : t0, S1 == null ? null : t1, S2 == null ? null : t2);
                    Unpad(tw, W + k, r);
                    Unpad(t0, S0 == null ? null : S0 + k, r);
                    Unpad(t1, S1 == null ? null : S1 + k, r);
                    Unpad(t2, S2 == null ? null : S2 + k, r);
                }
            }
        }

        private void Element(float* pw, float* pg, float* p0, float* p1, float* p2)
        {
            var w = Vector.Load(pw);
            var g = Vector.Load(pg);
            if (HasScale)
            {
                w *= Scale;
            }

            if (HasWd)
            {
                g += Wd * w;
            }

            if (HasL1)
            {
                var sign = Vector.ConditionalSelect(Vector.GreaterThan(w, Vector<float>.Zero), Vector<float>.One,
                    Vector.ConditionalSelect(Vector.LessThan(w, Vector<float>.Zero), -Vector<float>.One, Vector<float>.Zero));
                g += L1 * sign;
            }

            var v0 = p0 == null ? Vector<float>.Zero : Vector.Load(p0);
            var v1 = p1 == null ? Vector<float>.Zero : Vector.Load(p1);
            var v2 = p2 == null ? Vector<float>.Zero : Vector.Load(p2);
            Rule.Apply(ref w, g, ref v0, ref v1, ref v2);
            w.Store(pw);
            if (p0 != null)
            {
                v0.Store(p0);
            }

            if (p1 != null)
            {
                v1.Store(p1);
            }

            if (p2 != null)
            {
                v2.Store(p2);
            }
        }

        private static void Pad(float* dst, float* src, int r, int vc)
        {
            for (int j = 0; j < vc; j++)
            {
                dst[j] = src != null && j < r ? src[j] : 0f;
            }
        }

        private static void Unpad(float* src, float* dst, int r)
        {
            if (dst == null)
            {
                return;
            }

            for (int j = 0; j < r; j++)
            {
                dst[j] = src[j];
            }
        }
    }
}
