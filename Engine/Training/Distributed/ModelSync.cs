// Keeping the replicas of data-parallel training identical: before training, every rank checks that it built the same
// model as rank 0 (names and shapes), then takes rank 0's parameters and buffers; after every epoch the ranks compare
// a hash of their values, so a replica that drifted (or a broken broadcast) stops training with a clear error.
using System;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Engine.Distributed;
using Engine.Nn;

namespace Engine.Training;

/// <summary>Structure and value checks and the initial broadcast of a model's state across ranks.</summary>
internal static class ModelSync
{
    private const int HashBytes = 32;

    /// <summary>
    /// Checks that every rank's model has rank 0's parameter and buffer names and shapes, copies rank 0's values to
    /// every rank, and checks that the values now hash the same everywhere.
    /// </summary>
    /// <exception cref="InvalidOperationException">A rank's model differs; the message names the rank.</exception>
    public static void BroadcastFromRoot(CompiledModel model, ProcessGroup group)
    {
        CheckStructure(model, group);
        group.Broadcast(model.Parameters.Values, 0);
        if (model.Buffers.Values is { } b)
        {
            group.Broadcast(b, 0);
        }

        CheckValues(model, group, "after the broadcast of rank 0's parameters");
    }

    /// <summary>Compares a hash of every rank's parameter and buffer values with rank 0's.</summary>
    /// <exception cref="InvalidOperationException">A rank's values differ; the message names it.</exception>
    public static void CheckValues(CompiledModel model, ProcessGroup group, string when)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(MemoryMarshal.AsBytes(model.Parameters.Values.ToArray().AsSpan()));
        if (model.Buffers.Values is { } b)
        {
            hash.AppendData(MemoryMarshal.AsBytes(b.ToArray().AsSpan()));
        }

        var all = Gather(hash.GetHashAndReset(), group);
        var differ = Enumerable.Range(1, group.Size - 1).Where(r => !all.AsSpan(r * HashBytes, HashBytes).SequenceEqual(all.AsSpan(0, HashBytes))).ToArray();
        if (differ.Length > 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Data-parallel training: the parameters and buffers of rank{(differ.Length > 1 ? "s" : string.Empty)} {string.Join(", ", differ)} differ from rank 0's {when} (SHA-256 of the values); the replicas are no longer the same model."));
        }
    }

    private static void CheckStructure(CompiledModel model, ProcessGroup group)
    {
        var text = new StringBuilder();
        foreach (var p in model.Parameters)
        {
            text.Append(p.Name).Append(' ').Append(p.Shape).Append('\n');
        }

        foreach (var nb in model.Buffers)
        {
            text.Append(nb.Name).Append(' ').Append(nb.Value.Shape).Append('\n');
        }

        var all = Gather(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())), group);
        long[] mine = [model.Parameters.Count, model.Parameters.TotalLength, model.Buffers.Count, model.Buffers.Values?.Length ?? 0];
        var counts = new long[mine.Length * group.Size];
        group.AllGather(mine, counts);
        for (int r = 1; r < group.Size; r++)
        {
            if (!all.AsSpan(r * HashBytes, HashBytes).SequenceEqual(all.AsSpan(0, HashBytes)))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Data-parallel training: rank {r}'s model is not rank 0's: {Describe(counts, r)} against {Describe(counts, 0)} on rank 0, or the same counts under other names or shapes. Every rank must build the same model."));
            }
        }
    }

    private static string Describe(long[] counts, int rank) => string.Create(CultureInfo.InvariantCulture,
        $"{counts[rank * 4]} parameters ({counts[(rank * 4) + 1]:N0} values) and {counts[(rank * 4) + 2]} buffers ({counts[(rank * 4) + 3]:N0} values)");

    private static byte[] Gather(byte[] mine, ProcessGroup group)
    {
        var all = new byte[mine.Length * group.Size];
        group.AllGather(mine, all);
        return all;
    }
}
