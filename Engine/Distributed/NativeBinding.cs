// Loading the communication libraries (Open MPI, NCCL) on first use, once per process: the file (a path given by a
// test, else an environment override, else the usual name), an error that says what to install when it is missing,
// and exports that must be there.
using System;
using System.Runtime.InteropServices;

namespace Engine.Distributed;

internal static class NativeBinding
{
    /// <summary>
    /// The binding cached in <paramref name="slot"/>, made by <paramref name="load"/> the first time (under
    /// <paramref name="gate"/>); a non-null <paramref name="path"/> loads that file instead and is not cached.
    /// </summary>
    public static T Cached<T>(ref T? slot, object gate, string? path, Func<string?, T> load)
        where T : class
    {
        lock (gate)
        {
            if (slot is not null && path is null)
            {
                return slot;
            }

            var binding = load(path);
            if (path is null)
            {
                slot = binding;
            }

            return binding;
        }
    }

    /// <summary>Opens <paramref name="path"/>, else the file named by <paramref name="environmentVariable"/>, else <paramref name="fileName"/>.</summary>
    /// <exception cref="DllNotFoundException">It cannot be loaded; the message is <paramref name="whenMissing"/> of the file.</exception>
    public static nint Open(string? path, string environmentVariable, string fileName, Func<string, string> whenMissing)
    {
        string file = path ?? Environment.GetEnvironmentVariable(environmentVariable) ?? fileName;
        return NativeLibrary.TryLoad(file, out nint lib) ? lib : throw new DllNotFoundException(whenMissing(file));
    }

    /// <summary>The address of export <paramref name="name"/> of <paramref name="lib"/>.</summary>
    /// <exception cref="DllNotFoundException">The library lacks it; the message says what version is needed.</exception>
    public static nint Export(nint lib, string fileName, string name, string needed) => NativeLibrary.TryGetExport(lib, name, out nint p)
        ? p
        : throw new DllNotFoundException($"{fileName} has no export {name}; {needed}.");
}
