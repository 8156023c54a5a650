// Seeded damage to a well-formed file for the untrusted-file tests (ONNX, safetensors): a flipped bit, a truncation, a
// run of 0xFF bytes, or a repeated run of bytes, each described for the failure message.
using System;

namespace Engine.Tests.Infrastructure;

internal static class ByteMutations
{
    /// <summary>One random mutation of <paramref name="good"/> (never changed) and what it was.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] good, Random rng)
    {
        int at = rng.Next(good.Length);
        switch (rng.Next(4))
        {
            case 0:
                var flipped = (byte[])good.Clone();
                flipped[at] ^= (byte)(1 << rng.Next(8));
                return (flipped, $"bit flip at {at}");
            case 1:
                return (good[..at], $"truncated at {at}");
            case 2:
                var ones = (byte[])good.Clone();
                ones.AsSpan(at, Math.Min(8, good.Length - at)).Fill(0xFF);
                return (ones, $"0xFF run at {at}");
            default:
                int len = rng.Next(1, 64);
                return ([.. good[..at], .. good.AsSpan(at, Math.Min(len, good.Length - at)), .. good[at..]], $"repeated {len} bytes at {at}");
        }
    }
}
