// What data-parallel training needs from the executor: a call after every backward step (so gradients that are final
// can be reduced across ranks while backward goes on), which step finalizes each parameter's gradient, and the group
// whose batch statistics batch norm combines.
using System;
using System.Collections.Generic;
using Engine.Distributed;

namespace Engine.Nn;

/// <summary>Told after each backward step of a compiled model (on the thread running backward; must not allocate).</summary>
internal interface IBackwardObserver
{
    /// <summary>Backward step <paramref name="step"/> (0-based, in backward order) of <paramref name="plan"/> has run.</summary>
    void StepDone(CompiledModel plan, int step);
}

public sealed partial class CompiledModel
{
    private IBackwardObserver? backwardObserver;

    /// <summary>Called after every backward step (null: nobody); data-parallel training starts gradient reductions from it.</summary>
    internal IBackwardObserver? BackwardObserver
    {
        get => backwardObserver;
        set => backwardObserver = value;
    }

    /// <summary>
    /// Data-parallel training: the ranks over which training-mode batch norm computes its batch statistics (synchronized
    /// batch norm); null for this process's batch alone. Plans of <see cref="ForBatchSize"/> take it over.
    /// </summary>
    internal ProcessGroup? StatisticsGroup
    {
        get => exec.StatisticsGroup;
        set => exec.StatisticsGroup = value;
    }

    /// <summary>Number of steps of <see cref="Backward()"/>.</summary>
    internal int BackwardStepCount => backward.Length;

    /// <summary>
    /// For each parameter (in <see cref="ParameterSet"/> order), the backward step after which its gradient is final: the
    /// last step that writes or adds to it. -1 when backward never writes it (frozen, or zeroed at the start of backward).
    /// </summary>
    internal int[] GradientReadySteps()
    {
        var index = new Dictionary<Parameter, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < Parameters.Count; i++)
        {
            index[Parameters[i]] = i;
        }

        var byGrad = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        foreach (var p in Parameters)
        {
            byGrad[p.Grad] = index[p];
        }

        var ready = new int[Parameters.Count];
        Array.Fill(ready, -1);
        for (int k = 0; k < backward.Length; k++)
        {
            var ctx = backward[k].Context;
            if (backward[k].Kind == StepKind.Layer)
            {
                for (int i = 0; i < ctx.Params.Length; i++)
                {
                    if (ctx.ParamGrads[i] is not null)
                    {
                        ready[index[ctx.Params[i]]] = k;
                    }
                }
            }

            foreach (var (_, dst) in backward[k].Accumulate)
            {
                if (byGrad.TryGetValue(dst, out int p))
                {
                    ready[p] = k;
                }
            }
        }

        return ready;
    }
}
