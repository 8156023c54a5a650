// The one exception of ONNX import: a file that is malformed, hostile or uses what the importer does not support.
using System;

namespace Engine.Onnx;

/// <summary>
/// An ONNX model cannot be imported: the file is truncated or corrupt, declares sizes or offsets its data does not
/// hold, has a cycle, uses an unsupported data type, external data, opset or node. The message names the file and,
/// where there is one, the node or tensor.
/// </summary>
public sealed class OnnxFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public OnnxFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public OnnxFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public OnnxFormatException()
    {
    }
}
