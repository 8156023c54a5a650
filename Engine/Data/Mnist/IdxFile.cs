// Reads and writes IDX files (the format of the MNIST distribution): a magic number, big-endian dimensions and raw
// unsigned bytes, plain or gzipped. Every malformed input gets an error that names the file and what is wrong.
using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace Engine.Data.Mnist;

/// <summary>An IDX array of unsigned bytes: its dimensions (outermost first) and its row-major data.</summary>
/// <param name="Dimensions">The dimensions, e.g. [60000, 28, 28].</param>
/// <param name="Data">The elements; its length is the product of the dimensions.</param>
public sealed record IdxArray(int[] Dimensions, byte[] Data);

/// <summary>
/// The IDX file format: bytes 0-1 are zero, byte 2 is the element type (0x08 = unsigned byte), byte 3 the number of
/// dimensions; then one big-endian 32-bit size per dimension; then the data. Gzipped files are recognised by their
/// content (the 1F 8B signature), whatever their name.
/// </summary>
public static class IdxFile
{
    /// <summary>The IDX type code of unsigned bytes, the only type MNIST uses.</summary>
    public const byte UnsignedByte = 0x08;

    private const int MaxRank = 8;

    /// <summary>Reads an unsigned-byte IDX file with <paramref name="expectedRank"/> dimensions.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not such an IDX file, or is truncated or corrupt; the message says which and how.</exception>
    public static IdxArray Read(string path, int expectedRank)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        }

        using var file = File.OpenRead(path);
        return Read(file, path, expectedRank);
    }

    /// <summary>Reads an unsigned-byte IDX array from <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    public static IdxArray Read(Stream stream, string name, int expectedRank)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expectedRank);
        Stream source = stream;
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            source = copy;
        }

        Span<byte> sig = stackalloc byte[2];
        int got = ReadFully(source, sig, name, compressed: false);
        source.Seek(-got, SeekOrigin.Current);
        bool gz = got == 2 && sig[0] == 0x1F && sig[1] == 0x8B;
        using var gzip = gz ? new GZipStream(source, CompressionMode.Decompress, leaveOpen: true) : null;
        return ReadBody(gzip ?? source, name, expectedRank, gz);
    }

    /// <summary>Writes <paramref name="data"/> as an unsigned-byte IDX file; gzipped when the path ends in .gz.</summary>
    /// <exception cref="ArgumentException">The dimensions do not multiply to the data length.</exception>
    public static void Write(string path, ReadOnlySpan<byte> data, ReadOnlySpan<int> dimensions)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (dimensions.Length is 0 or > MaxRank)
        {
            throw new ArgumentException($"An IDX array has 1 to {MaxRank} dimensions; got {dimensions.Length}.", nameof(dimensions));
        }

        long n = 1;
        foreach (int d in dimensions)
        {
            if (d <= 0)
            {
                throw new ArgumentException($"IDX dimensions must be positive; got [{string.Join(", ", dimensions.ToArray())}].", nameof(dimensions));
            }

            n *= d;
        }

        if (n != data.Length)
        {
            throw new ArgumentException($"Dimensions [{string.Join(", ", dimensions.ToArray())}] hold {n} bytes but data has {data.Length}.", nameof(data));
        }

        using var file = File.Create(path);
        using Stream output = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(file, CompressionLevel.Optimal)
            : file;
        Span<byte> header = stackalloc byte[4 + (4 * MaxRank)];
        header[2] = UnsignedByte;
        header[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.Slice(4 + (4 * i)), dimensions[i]);
        }

        output.Write(header.Slice(0, 4 + (4 * dimensions.Length)));
        output.Write(data);
    }

    private static IdxArray ReadBody(Stream input, string name, int expectedRank, bool gz)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = ReadFully(input, magic, name, gz);
        if (got < 4)
        {
            throw Bad(name, $"is truncated: it holds {got} byte(s) but an IDX header needs at least 4. Replace it with a complete copy.");
        }

        if (magic[0] != 0 || magic[1] != 0)
        {
            throw Bad(name, $"is not an IDX file: it starts with 0x{magic[0]:X2}{magic[1]:X2}{magic[2]:X2}{magic[3]:X2}, but IDX files start with two zero bytes, a type code and a dimension count (e.g. 0x00000803 for MNIST images).");
        }

        if (magic[2] != UnsignedByte)
        {
            throw Bad(name, $"holds elements of IDX type 0x{magic[2]:X2} ({TypeName(magic[2])}); MNIST files hold unsigned bytes (0x08).");
        }

        int rank = magic[3];
        if (rank != expectedRank)
        {
            throw Bad(name, $"has magic number 0x{magic[2] << 8 | rank:X8} ({rank} dimension(s)) but 0x{UnsignedByte << 8 | expectedRank:X8} ({expectedRank} dimension(s)) was expected here. Is it the right file (images vs labels)?");
        }

        Span<byte> dimBytes = stackalloc byte[4 * MaxRank];
        dimBytes = dimBytes.Slice(0, 4 * rank);
        if (ReadFully(input, dimBytes, name, gz) < dimBytes.Length)
        {
            throw Bad(name, $"is truncated inside its header (the sizes of its {rank} dimension(s)). Replace it with a complete copy.");
        }

        var dims = new int[rank];
        long total = 1;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(dimBytes.Slice(4 * i));
            if (dims[i] <= 0)
            {
                throw Bad(name, $"declares dimension {i} as {dims[i]}; every dimension must be positive.");
            }

            total *= dims[i];
            if (total > Array.MaxLength)
            {
                throw Bad(name, $"declares dimensions [{string.Join(", ", dims.Take(i + 1))}...], more than {Array.MaxLength} bytes; the header is corrupt.");
            }
        }

        // Memory follows the data actually present, never the header's claim: a plain file's length is known before
        // anything is allocated, and a gzip stream's buffer grows only as its data arrive.
        if (!gz && input.CanSeek && input.Length - input.Position < total)
        {
            throw Truncated(name, dims, total, input.Length - input.Position);
        }

        var data = new byte[Math.Min(total, gz ? 1 << 20 : total)];
        int read = ReadFully(input, data, name, gz);
        while (read == data.Length && read < total)
        {
            Array.Resize(ref data, (int)Math.Min(total, 2L * data.Length));
            read += ReadFully(input, data.AsSpan(read), name, gz);
        }

        if (read < total)
        {
            throw Truncated(name, dims, total, read);
        }

        Span<byte> extra = stackalloc byte[1];
        if (ReadFully(input, extra, name, gz) != 0)
        {
            throw Bad(name, $"has bytes after the {total} bytes of data its header [{string.Join(", ", dims)}] declares; it is corrupt or not the file its name says.");
        }

        return new IdxArray(dims, data);
    }

    private static InvalidDataException Truncated(string name, int[] dims, long total, long read) =>
        Bad(name, $"is truncated: its header declares [{string.Join(", ", dims)}] = {total} bytes of data but only {read} follow. Replace it with a complete copy (the download may have been cut short).");

    private static int ReadFully(Stream s, Span<byte> buffer, string name, bool compressed)
    {
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int n = s.Read(buffer.Slice(total));
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (InvalidDataException e) when (compressed)
        {
            throw Bad(name, $"is not a valid gzip stream ({e.Message}). Replace it with a fresh copy.", e);
        }

        return total;
    }

    private static string TypeName(byte type) => type switch
    {
        0x09 => "signed byte",
        0x0B => "short",
        0x0C => "int",
        0x0D => "float",
        0x0E => "double",
        _ => "unknown",
    };

    private static InvalidDataException Bad(string name, string what, Exception? inner = null) => new($"'{name}' {what}", inner);
}
