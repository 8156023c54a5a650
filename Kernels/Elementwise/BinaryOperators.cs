// The element-wise binary ops a graph can join two tensors with (add, subtract, multiply, divide): each one stateless
// struct holding its scalar form (the generic ILGPU kernels) and its Vector<float> form (the host path), with the
// partial derivatives by either operand, side by side.
using System.Numerics;

namespace Engine.Kernels.Elementwise;

/// <summary>
/// y = f(a, b) element-wise, with its partial derivatives. The generic kernels (<see cref="BinaryKernels"/>) and the
/// host loops call it through <c>default(TOp)</c>. Values at zeros and infinities are IEEE's, as PyTorch's.
/// </summary>
public interface IBinaryOperator
{
    /// <summary>Whether the gradients read the operands (false for add and subtract: constant derivatives).</summary>
    bool DerivativeReadsOperands { get; }

    /// <summary>y = f(a, b).</summary>
    float Apply(float a, float b);

    /// <summary>g * df/da.</summary>
    float GradA(float g, float a, float b);

    /// <summary>g * df/db.</summary>
    float GradB(float g, float a, float b);

    /// <summary>f on every lane.</summary>
    Vector<float> Apply(Vector<float> a, Vector<float> b);

    /// <summary>g * df/da on every lane.</summary>
    Vector<float> GradA(Vector<float> g, Vector<float> a, Vector<float> b);

    /// <summary>g * df/db on every lane.</summary>
    Vector<float> GradB(Vector<float> g, Vector<float> a, Vector<float> b);
}

/// <summary>a + b.</summary>
public readonly struct AddOp : IBinaryOperator
{
    /// <inheritdoc />
    public bool DerivativeReadsOperands => false;

    /// <inheritdoc />
    public float Apply(float a, float b) => a + b;

    /// <inheritdoc />
    public float GradA(float g, float a, float b) => g;

    /// <inheritdoc />
    public float GradB(float g, float a, float b) => g;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a + b;

    /// <inheritdoc />
    public Vector<float> GradA(Vector<float> g, Vector<float> a, Vector<float> b) => g;

    /// <inheritdoc />
    public Vector<float> GradB(Vector<float> g, Vector<float> a, Vector<float> b) => g;
}

/// <summary>a - b.</summary>
public readonly struct SubtractOp : IBinaryOperator
{
    /// <inheritdoc />
    public bool DerivativeReadsOperands => false;

    /// <inheritdoc />
    public float Apply(float a, float b) => a - b;

    /// <inheritdoc />
    public float GradA(float g, float a, float b) => g;

    /// <inheritdoc />
    public float GradB(float g, float a, float b) => -g;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a - b;

    /// <inheritdoc />
    public Vector<float> GradA(Vector<float> g, Vector<float> a, Vector<float> b) => g;

    /// <inheritdoc />
    public Vector<float> GradB(Vector<float> g, Vector<float> a, Vector<float> b) => -g;
}

/// <summary>a * b.</summary>
public readonly struct MultiplyOp : IBinaryOperator
{
    /// <inheritdoc />
    public bool DerivativeReadsOperands => true;

    /// <inheritdoc />
    public float Apply(float a, float b) => a * b;

    /// <inheritdoc />
    public float GradA(float g, float a, float b) => g * b;

    /// <inheritdoc />
    public float GradB(float g, float a, float b) => g * a;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a * b;

    /// <inheritdoc />
    public Vector<float> GradA(Vector<float> g, Vector<float> a, Vector<float> b) => g * b;

    /// <inheritdoc />
    public Vector<float> GradB(Vector<float> g, Vector<float> a, Vector<float> b) => g * a;
}

/// <summary>a / b (torch's gradients: g / b and -g a / b²).</summary>
public readonly struct DivideOp : IBinaryOperator
{
    /// <inheritdoc />
    public bool DerivativeReadsOperands => true;

    /// <inheritdoc />
    public float Apply(float a, float b) => a / b;

    /// <inheritdoc />
    public float GradA(float g, float a, float b) => g / b;

    /// <inheritdoc />
    public float GradB(float g, float a, float b) => -g * a / (b * b);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a / b;

    /// <inheritdoc />
    public Vector<float> GradA(Vector<float> g, Vector<float> a, Vector<float> b) => g / b;

    /// <inheritdoc />
    public Vector<float> GradB(Vector<float> g, Vector<float> a, Vector<float> b) => -g * a / (b * b);
}
