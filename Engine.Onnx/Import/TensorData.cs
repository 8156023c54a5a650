// Decodes ONNX TensorProtos (initializers and Constant values) into float32 or int64 arrays. Untrusted input: the
// element count is checked against the data the file actually holds before anything is allocated, so a header that
// claims a huge tensor costs nothing; external data and other dtypes are refused by name.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Engine.Onnx.Import;

/// <summary>Float32 and int64 tensor data of an ONNX file.</summary>
internal static class TensorData
{
    /// <summary>The largest tensor accepted, in elements (the engine's tensors are indexed by int).</summary>
    public const long MaxElements = int.MaxValue;

    /// <summary>The dimensions of <paramref name="t"/>, checked: non-negative, element count within <see cref="MaxElements"/>.</summary>
    public static long[] Dims(TensorProto t, string where)
    {
        long count = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0 || (d > 0 && count > MaxElements / d))
            {
                throw new OnnxFormatException($"{where} has dimensions [{string.Join(", ", t.Dims)}]: negative or more than {MaxElements} elements.");
            }

            count *= d;
        }

        return t.Dims.ToArray();
    }

    /// <summary>Element count of checked dimensions.</summary>
    public static long Count(long[] dims) => dims.Aggregate(1L, (a, b) => a * b);

    /// <summary>Whether <paramref name="t"/> holds float32 data (else int64 or an unsupported type).</summary>
    public static bool IsFloat(TensorProto t) => t.DataType == (int)DataType.Float;

    /// <summary>The data of a float32 tensor.</summary>
    public static float[] Floats(TensorProto t, string where) =>
        Read(t, where, DataType.Float, t.FloatData, 4, static (b, i) => BinaryPrimitives.ReadSingleLittleEndian(b.Slice(4 * i)));

    /// <summary>The data of an int64 tensor.</summary>
    public static long[] Int64s(TensorProto t, string where) =>
        Read(t, where, DataType.Int64, t.Int64Data, 8, static (b, i) => BinaryPrimitives.ReadInt64LittleEndian(b.Slice(8 * i)));

    /// <summary>Refuses external data and segments, and checks the dtype is float32 or int64.</summary>
    public static void CheckStorage(TensorProto t, string where)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            string file = t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "?";
            throw new OnnxFormatException($"{where} refers to external data ('{file}'); the importer reads only what is inside the model file (save it with the weights inside).");
        }

        if (t.Segment is not null)
        {
            throw new OnnxFormatException($"{where} is a segment of a larger tensor, which the importer does not read.");
        }

        if (t.DataType != (int)DataType.Float && t.DataType != (int)DataType.Int64)
        {
            string type = Enum.IsDefined(typeof(DataType), t.DataType) ? ((DataType)t.DataType).ToString().ToUpperInvariant() : t.DataType.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new OnnxFormatException($"{where} has data type {type}; the importer reads FLOAT (float32) weights and INT64 shapes (export the model in float32).");
        }
    }

    private delegate T Element<T>(ReadOnlySpan<byte> raw, int index);

    // Raw little-endian bytes or the typed field, whichever the file uses, checked against the element count first.
    private static T[] Read<T>(TensorProto t, string where, DataType type, IReadOnlyList<T> typed, int size, Element<T> element)
    {
        var dims = Check(t, where, type);
        long n = Count(dims);
        if (t.RawData.Length > 0 || typed.Count == 0)
        {
            var raw = Raw(t, where, n, size);
            var data = new T[n];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = element(raw, i);
            }

            return data;
        }

        return typed.Count == n ? typed.ToArray()
            : throw new OnnxFormatException($"{where} is {type.ToString().ToUpperInvariant()} [{string.Join(", ", dims)}] ({n} elements) but holds {typed.Count} values (truncated or corrupt).");
    }

    private static long[] Check(TensorProto t, string where, DataType want)
    {
        CheckStorage(t, where);
        if (t.DataType != (int)want)
        {
            throw new OnnxFormatException($"{where} has data type {(DataType)t.DataType}; expected {want.ToString().ToUpperInvariant()} here.");
        }

        return Dims(t, where);
    }

    private static ReadOnlySpan<byte> Raw(TensorProto t, string where, long n, int size)
    {
        if (t.RawData.Length != n * size)
        {
            throw new OnnxFormatException($"{where} has [{string.Join(", ", t.Dims)}] = {n} elements ({n * size} bytes) but its raw data is {t.RawData.Length} bytes (truncated or corrupt).");
        }

        return t.RawData.Span;
    }
}
