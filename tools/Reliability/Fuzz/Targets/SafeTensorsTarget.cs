// Fuzz target: a safetensors file (model weights a user downloads or is sent), read from disk and from memory.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Engine.Checkpoints;

namespace Engine.Reliability.Fuzz.Targets;

internal static class SafeTensorsTarget
{
    public static FuzzTarget Target { get; } = new(
        "safetensors",
        "SafeTensorsFile.Read and Parse, then every F32 tensor's data",
        Run,
        [typeof(SafeTensorsFormatException)],
        ["Engine.dll:Engine.Checkpoints"],
        Seeds);

    private static void Run(byte[] data, FuzzWorkspace w)
    {
        string path = w.Write("input.safetensors", data);
        var file = SafeTensorsFile.Read(path);
        foreach (var t in file.Tensors.Where(t => t.DType == "F32"))
        {
            if (file.ReadFloat32(t.Name).Length != t.ElementCount)
            {
                throw new FuzzContractException($"tensor '{t.Name}' read {t.ElementCount} elements wrong");
            }
        }

        // The in-memory parser agrees with the file reader.
        var same = SafeTensorsFile.Parse(data, path);
        if (!same.Tensors.SequenceEqual(file.Tensors, EntryComparer.Instance))
        {
            throw new FuzzContractException("Parse and Read disagree on the tensors");
        }
    }

    /// <summary>A file with a hand-written header (possibly broken) and data.</summary>
    public static byte[] Raw(string header, byte[] data, long? declaredLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(declaredLength ?? json.Length));
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        string tmp = Path.Combine(Path.GetTempPath(), $"engine-fuzz-seed-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Write(tmp, [("bias", [3], [1f, -2f, 0.5f]), ("weight", [2, 3], [1, 2, 3, 4, 5, 6])], new Dictionary<string, string> { ["format"] = "pt" });
            yield return ("valid-two-tensors", File.ReadAllBytes(tmp));
            SafeTensors.Write(tmp, [("scalar", [], [42f]), ("empty", [0, 4], [])]);
            yield return ("valid-scalar-and-empty", File.ReadAllBytes(tmp));
        }
        finally
        {
            File.Delete(tmp);
        }

        yield return ("valid-i64", Raw("{\"n\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", new byte[16]));
        yield return ("hostile-100gb", Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[25000000000],\"data_offsets\":[0,100000000000]}}", new byte[16]));
        yield return ("hostile-overflowing-shape", Raw("{\"w\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", new byte[8]));
        yield return ("hostile-overlap", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]));
        yield return ("hostile-out-of-range", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[8]));
        yield return ("hostile-unknown-dtype", Raw("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]));
        yield return ("hostile-header-length", Raw("{}", [], declaredLength: long.MaxValue));
        yield return ("hostile-duplicate-name", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]));
        yield return ("hostile-metadata", Raw("{\"__metadata__\":{\"k\":[1,2]}}", []));
    }

    private sealed class EntryComparer : IEqualityComparer<SafeTensorInfo>
    {
        public static readonly EntryComparer Instance = new();

        public bool Equals(SafeTensorInfo? x, SafeTensorInfo? y) =>
            x is not null && y is not null && x.Name == y.Name && x.DType == y.DType && x.Shape.SequenceEqual(y.Shape) && x.Begin == y.Begin && x.End == y.End;

        public int GetHashCode(SafeTensorInfo obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
