// Element types a tensor can hold. Float32 is implemented; the enum leaves room for half precision.
namespace Engine;

/// <summary>The element type of a <see cref="Tensor"/>.</summary>
public enum DType
{
    /// <summary>IEEE 754 single precision (4 bytes).</summary>
    Float32 = 0,

    /// <summary>IEEE 754 half precision (2 bytes). Reserved; not yet implemented by the ops.</summary>
    Float16 = 1,

    /// <summary>bfloat16 (2 bytes). Reserved; not yet implemented by the ops.</summary>
    BFloat16 = 2,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>Size of one element in bytes.</summary>
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float16 => 2,
        DType.BFloat16 => 2,
        _ => throw new System.ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };
}
