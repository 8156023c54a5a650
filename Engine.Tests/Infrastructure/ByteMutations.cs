// Seeded damage to a well-formed file for the untrusted-file tests (ONNX, safetensors): a flipped bit, a truncation, a
// run of 0xFF bytes, or a repeated run of bytes; and the check that a reader either accepts each damaged copy or
// refuses it with its own format exception, never another exception.
using System;
using NUnit.Framework;

namespace Engine.Tests.Infrastructure;

internal static class ByteMutations
{
    /// <summary>One random mutation of <paramref name="good"/> (never changed) and what it was.</summary>
    private static (byte[] Bytes, string What) Mutate(byte[] good, Random rng)
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

    /// <summary>
    /// Runs <paramref name="read"/> on <paramref name="count"/> mutations of <paramref name="good"/>: each must succeed
    /// or throw <typeparamref name="TFormat"/> whose message contains <paramref name="source"/>; anything else fails the
    /// test with the mutation. Returns how many were accepted and how many refused.
    /// </summary>
    public static (int Accepted, int Refused) Check<TFormat>(byte[] good, int count, Random rng, string source, Action<byte[]> read, string label = "")
        where TFormat : Exception
    {
        int accepted = 0, refused = 0;
        for (int k = 0; k < count; k++)
        {
            var (bytes, what) = Mutate(good, rng);
            try
            {
                read(bytes);
                accepted++;
            }
            catch (TFormat ex)
            {
                Assert.That(ex.Message, Does.Contain(source), $"{label}{what}");
                refused++;
            }
            catch (Exception ex) when (ex is not AssertionException)
            {
                Assert.Fail($"{label}{what}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        return (accepted, refused);
    }
}
