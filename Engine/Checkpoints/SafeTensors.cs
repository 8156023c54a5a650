// The safetensors format (Hugging Face): read and write F32 tensors with a JSON header, atomically and validated.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Checkpoints;

/// <summary>A safetensors file is malformed: truncated, corrupt header, inconsistent offsets or sizes.</summary>
public sealed class SafeTensorsFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public SafeTensorsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public SafeTensorsFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SafeTensorsFormatException()
    {
    }
}

/// <summary>One tensor entry of a safetensors header.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">The dtype string, e.g. <c>F32</c>.</param>
/// <param name="Shape">The dimensions (empty for a scalar).</param>
/// <param name="Begin">Start of the data, in bytes from the start of the data section.</param>
/// <param name="End">End of the data (exclusive).</param>
public sealed record SafeTensorInfo(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as <c>[2, 3]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// A safetensors file: an 8-byte little-endian header length N, N bytes of JSON header (an object mapping names to
/// {dtype, shape, data_offsets} plus an optional <c>__metadata__</c> string map; padded with spaces), then the raw
/// little-endian tensor data. <see cref="Read"/> validates everything the reference implementation validates.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>The largest header accepted (as the reference implementation: 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, int> DTypeSizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E5M2"] = 1, ["F8_E4M3"] = 1, ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["U64"] = 8,
    };

    private readonly byte[] bytes;
    private readonly long dataStart;
    private readonly Dictionary<string, SafeTensorInfo> byName;

    private SafeTensorsFile(string source, byte[] bytes, long dataStart, List<SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Source = source;
        this.bytes = bytes;
        this.dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Where the file came from (for messages).</summary>
    public string Source { get; }

    /// <summary>The tensors in data order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Whether a tensor of that name exists.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The entry of tensor <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public SafeTensorInfo this[string name] => byName.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"{Source}: no tensor '{name}'.");

    /// <summary>Reads and validates a file.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is malformed; the message says how.</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses and validates the bytes of a file.</summary>
    /// <exception cref="SafeTensorsFormatException">The bytes are malformed; the message says how.</exception>
    public static SafeTensorsFile Parse(byte[] bytes, string source = "safetensors data")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 8)
        {
            throw new SafeTensorsFormatException($"{source}: the file is {bytes.Length} bytes; a safetensors file starts with an 8-byte header length (truncated or not safetensors).");
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > MaxHeaderBytes)
        {
            throw new SafeTensorsFormatException($"{source}: header length {n} is over the {MaxHeaderBytes}-byte limit (corrupt or not safetensors).");
        }

        if ((long)n > bytes.Length - 8)
        {
            throw new SafeTensorsFormatException($"{source}: header length {n} exceeds the {bytes.Length - 8} bytes after the length field (truncated file).");
        }

        long dataStart = 8 + (long)n;
        long dataLength = bytes.Length - dataStart;
        JsonObject header;
        try
        {
            var text = new UTF8Encoding(false, true).GetString(bytes, 8, (int)n);
            if (!text.StartsWith('{'))
            {
                throw new SafeTensorsFormatException($"{source}: the header does not start with '{{' (corrupt or not safetensors).");
            }

            header = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                ?? throw new SafeTensorsFormatException($"{source}: the header is not a JSON object.");
        }
        catch (Exception ex) when (ex is JsonException or DecoderFallbackException or ArgumentException)
        {
            throw new SafeTensorsFormatException($"{source}: the header is not valid UTF-8 JSON: {ex.Message}", ex);
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<SafeTensorInfo>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is not JsonObject meta)
                {
                    throw new SafeTensorsFormatException($"{source}: __metadata__ must be an object of strings.");
                }

                foreach (var (k, v) in meta)
                {
                    metadata[k] = v is JsonValue jv && jv.TryGetValue<string>(out var s)
                        ? s
                        : throw new SafeTensorsFormatException($"{source}: __metadata__ value '{k}' is not a string.");
                }

                continue;
            }

            tensors.Add(ParseEntry(source, name, node));
        }

        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expect = 0;
        foreach (var t in tensors)
        {
            if (t.Begin != expect)
            {
                throw new SafeTensorsFormatException(
                    $"{source}: tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] {(t.Begin < expect ? "overlap the previous tensor" : "leave a gap")}: expected it to start at {expect}.");
            }

            expect = t.End;
        }

        if (expect != dataLength)
        {
            throw new SafeTensorsFormatException(expect > dataLength
                ? $"{source}: the tensors need {expect} bytes of data but the file holds {dataLength} (truncated file)."
                : $"{source}: the file holds {dataLength} bytes of data but the tensors cover {expect} (trailing bytes; corrupt file).");
        }

        return new SafeTensorsFile(source, bytes, dataStart, tensors, metadata);
    }

    /// <summary>The data of an F32 tensor.</summary>
    /// <exception cref="SafeTensorsFormatException">The tensor is not F32.</exception>
    public float[] ReadFloat32(string name)
    {
        var t = this[name];
        if (t.DType != "F32")
        {
            throw new SafeTensorsFormatException($"{Source}: tensor '{name}' has dtype {t.DType}; expected F32.");
        }

        var data = new float[t.ElementCount];
        var src = bytes.AsSpan((int)(dataStart + t.Begin), (int)(t.End - t.Begin));
        if (BitConverter.IsLittleEndian)
        {
            src.CopyTo(MemoryMarshal.AsBytes(data.AsSpan()));
        }
        else
        {
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
            }
        }

        return data;
    }

    private static SafeTensorInfo ParseEntry(string source, string name, JsonNode? node)
    {
        if (node is not JsonObject o)
        {
            throw new SafeTensorsFormatException($"{source}: entry '{name}' is not an object.");
        }

        string dtype = o["dtype"] is JsonValue dv && dv.TryGetValue<string>(out var ds) ? ds
            : throw new SafeTensorsFormatException($"{source}: tensor '{name}' has no dtype string.");
        if (!DTypeSizes.TryGetValue(dtype, out int size))
        {
            throw new SafeTensorsFormatException($"{source}: tensor '{name}' has unknown dtype '{dtype}'.");
        }

        var shape = (o["shape"] as JsonArray ?? throw new SafeTensorsFormatException($"{source}: tensor '{name}' has no shape array."))
            .Select(x => x is JsonValue v && v.TryGetValue<long>(out var d) && d >= 0 && d <= int.MaxValue ? (int)d
                : throw new SafeTensorsFormatException($"{source}: tensor '{name}' has a shape entry that is not a non-negative integer."))
            .ToArray();
        var offs = o["data_offsets"] as JsonArray;
        if (offs is null || offs.Count != 2 || !(offs[0] is JsonValue b0 && b0.TryGetValue<long>(out long begin)) || !(offs[1] is JsonValue e0 && e0.TryGetValue<long>(out long end)))
        {
            throw new SafeTensorsFormatException($"{source}: tensor '{name}' needs data_offsets [begin, end] of two integers.");
        }

        if (begin < 0 || end < begin)
        {
            throw new SafeTensorsFormatException($"{source}: tensor '{name}' has invalid data_offsets [{begin}, {end}].");
        }

        // An absurd shape (its byte count overflows) cannot match any data: refused by name, not with an overflow.
        long elements = 1;
        foreach (int d in shape)
        {
            elements = d == 0 || elements <= long.MaxValue / 8 / d ? elements * d
                : throw new SafeTensorsFormatException($"{source}: tensor '{name}' has shape [{string.Join(", ", shape)}], more bytes than any file holds.");
        }

        if (elements * size != end - begin)
        {
            throw new SafeTensorsFormatException(
                $"{source}: tensor '{name}' is {dtype} [{string.Join(", ", shape)}] = {elements * size} bytes, but data_offsets [{begin}, {end}] span {end - begin}.");
        }

        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }
}

/// <summary>Writes safetensors files.</summary>
public static class SafeTensors
{
    /// <summary>
    /// Writes F32 tensors (sorted by name) and optional metadata to <paramref name="path"/>: into a temporary file in
    /// the same directory, flushed, then moved over the destination, so a reader never sees a partial file.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty or repeats, or a tensor's data does not fit its shape.</exception>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (int i = 0; i < list.Count; i++)
        {
            var (name, shape, data) = list[i];
            if (string.IsNullOrEmpty(name) || name == "__metadata__")
            {
                throw new ArgumentException($"Tensor name '{name}' is not allowed.", nameof(tensors));
            }

            if (i > 0 && list[i - 1].Name == name)
            {
                throw new ArgumentException($"Tensor name '{name}' appears twice.", nameof(tensors));
            }

            long n = shape.Aggregate(1L, (a, b) => a * b);
            if (shape.Any(d => d < 0) || n != data.Length)
            {
                throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", shape)}] but {data.Length} values.", nameof(tensors));
            }
        }

        var header = new JsonObject();
        if (metadata is not null && metadata.Count > 0)
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                meta[k] = v;
            }

            header["__metadata__"] = meta;
        }

        long offset = 0;
        foreach (var (name, shape, data) in list)
        {
            long bytes = 4L * data.Length;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                fs.Write(len);
                fs.Write(json);
                for (int i = json.Length; i < padded; i++)
                {
                    fs.WriteByte((byte)' ');
                }

                foreach (var (_, _, data) in list)
                {
                    if (BitConverter.IsLittleEndian)
                    {
                        fs.Write(MemoryMarshal.AsBytes(data.AsSpan()));
                    }
                    else
                    {
                        var b = new byte[4];
                        foreach (float f in data)
                        {
                            BinaryPrimitives.WriteSingleLittleEndian(b, f);
                            fs.Write(b);
                        }
                    }
                }

                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }
}
