// A scratch folder for fuzz inputs: targets read files as a user would, so each input is written to disk first, and
// the folder is emptied between inputs (a persistent fuzzing process reuses it thousands of times).
using System;
using System.IO;

namespace Engine.Reliability.Fuzz;

/// <summary>A private temporary folder where a target writes the input it parses; deleted on dispose.</summary>
internal sealed class FuzzWorkspace : IDisposable
{
    public FuzzWorkspace()
    {
        Root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"engine-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(Root);
        SourceName = Root;
    }

    /// <summary>The folder.</summary>
    public string Root { get; }

    /// <summary>What the input is called in messages (the path a target wrote it to); a clear error must contain it.</summary>
    public string SourceName { get; set; }

    /// <summary>The path of <paramref name="name"/> in the folder.</summary>
    public string Path(string name) => System.IO.Path.Combine(Root, name);

    /// <summary>Writes the input to <paramref name="name"/> and makes that path the source name.</summary>
    public string Write(string name, byte[] data)
    {
        string path = Path(name);
        File.WriteAllBytes(path, data);
        SourceName = path;
        return path;
    }

    /// <summary>Empties the folder (links are removed, never followed).</summary>
    public void Reset()
    {
        SourceName = Root;
        var dir = new DirectoryInfo(Root);
        foreach (var f in dir.EnumerateFileSystemInfos())
        {
            if (f is DirectoryInfo d && d.LinkTarget is null)
            {
                d.Delete(recursive: true);
            }
            else
            {
                f.Delete();
            }
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
