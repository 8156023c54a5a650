// The contract every optimizer's update rule implements once: one element in float (the generic ILGPU chunk
// kernel) and SIMD vectors (the host loop), after the shared regularization step.
using System.Numerics;

namespace Engine.Kernels.Optim;

/// <summary>One parameter element with its (up to three) state values, as a rule updates it.</summary>
public struct OptimElement
{
    /// <summary>The weight (already scaled by the decoupled decay).</summary>
    public float W;

    /// <summary>First state value (e.g. exp_avg).</summary>
    public float S0;

    /// <summary>Second state value (e.g. exp_avg_sq).</summary>
    public float S1;

    /// <summary>Third state value (e.g. max_exp_avg_sq).</summary>
    public float S2;
}

/// <summary>
/// An optimizer's element rule: a struct holding the step's scalars (learning rate, betas, bias corrections, ...),
/// passed by value to <see cref="OptimizerKernels.Step{TRule}"/> and to the host loop. The gradient it gets already
/// has the coupled L2 and L1 terms added (<see cref="RegParams"/>). The scalar form returns the element (ILGPU
/// compiles it); the vector form updates in place.
/// </summary>
public interface IOptimizerRule
{
    /// <summary>The updated element for (regularized) gradient <paramref name="g"/>.</summary>
    OptimElement Apply(OptimElement e, float g);

    /// <summary>Updates weights and state on every lane.</summary>
    void Apply(ref Vector<float> w, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2);
}
