// The shapes and settings of one normalization call, as the ops hand them to either backend (kernel or host):
// they sit here, below both the ops that build them and the backends that read them.
namespace Engine.Backends;

/// <summary>Shape and settings of one batch-norm call: x is (N, C, S) with S the product of the dimensions after C.</summary>
/// <param name="N">Batch size.</param>
/// <param name="C">Channels.</param>
/// <param name="S">Inner size (1 for (N, C) input).</param>
/// <param name="Training">Batch statistics (true) or running statistics (false).</param>
/// <param name="Momentum">Running-statistics momentum.</param>
/// <param name="Eps">Added to the variance.</param>
/// <param name="Relu">A ReLU follows and is folded in: forward writes relu(y), backward takes dy through relu' first.</param>
internal readonly record struct BatchNormConfig(int N, int C, int S, bool Training, float Momentum, float Eps, bool Relu = false)
{
    /// <summary>Elements per channel, N * S.</summary>
    public int Count => N * S;
}

/// <summary>Shape and settings of one layer-norm call: x seen as (Rows, D).</summary>
/// <param name="Rows">Product of the leading (not normalized) dimensions.</param>
/// <param name="D">Product of normalized_shape.</param>
/// <param name="Eps">Added to the variance.</param>
internal readonly record struct LayerNormConfig(int Rows, int D, float Eps);
