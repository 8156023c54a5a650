// A pass over a tar stream's 512-byte headers before TarReader reads it: .NET's TarReader allocates a metadata entry's
// declared size (PAX extended attributes, GNU long names) up front, so a 355-byte .tgz declaring a 1 GB PAX header made
// it allocate 1 GB (found by ./build.sh fuzz). Metadata entries over 64 KiB are refused here, before any of that.
using System;
using System.IO;

namespace MnistTrainer;

/// <summary>Checks the sizes a tar stream's metadata entries declare.</summary>
internal static class TarMetadataGuard
{
    /// <summary>The largest PAX or GNU metadata entry accepted (the package's are a few hundred bytes).</summary>
    public const long MaxMetadataBytes = 64 << 10;

    /// <summary>Reads <paramref name="tar"/> (a decompressed tar stream) to its end, header by header.</summary>
    /// <exception cref="InvalidDataException">A metadata entry declares more than <see cref="MaxMetadataBytes"/>, or a size is unreadable; the message names <paramref name="source"/>.</exception>
    public static void Check(Stream tar, string source)
    {
        var header = new byte[512];
        var skip = new byte[16 << 10];
        while (tar.ReadAtLeast(header, 512, throwOnEndOfStream: false) == 512)
        {
            if (Array.TrueForAll(header, b => b == 0))
            {
                continue;   // the end-of-archive blocks
            }

            char type = (char)header[156];
            long size = Size(header, source);
            if (type is 'x' or 'g' or 'L' or 'K' && size > MaxMetadataBytes)
            {
                throw new InvalidDataException($"'{source}' holds a tar metadata entry (type '{type}') of {size} bytes; at most {MaxMetadataBytes} are accepted (corrupt or hostile tarball).");
            }

            for (long left = (size + 511) / 512 * 512; left > 0;)
            {
                int n = tar.Read(skip, 0, (int)Math.Min(skip.Length, left));
                if (n == 0)
                {
                    return;   // truncated: TarReader reports it
                }

                left -= n;
            }
        }
    }

    /// <summary>The size field (octal text, or base-256 when its first byte has the high bit set).</summary>
    private static long Size(byte[] header, string source)
    {
        if ((header[124] & 0x80) != 0)
        {
            return long.MaxValue;   // base-256: only needed for entries over 8 GB, none of which this package holds
        }

        long size = 0;
        for (int i = 124; i < 136 && header[i] is not (0 or (byte)' '); i++)
        {
            if (header[i] is < (byte)'0' or > (byte)'7' || size > (long.MaxValue >> 3))
            {
                throw new InvalidDataException($"'{source}' holds a tar header whose size field is not an octal number (corrupt tarball).");
            }

            size = (size << 3) + (header[i] - '0');
        }

        return size;
    }
}
