// A thin binding to NVIDIA's NCCL (libnccl.so.2), loaded only when a NCCL process group is created: the unique id,
// communicator setup and teardown, all-reduce and broadcast of device memory on a CUDA stream, and error reporting.
using System;
using System.Runtime.InteropServices;

namespace Engine.Distributed;

/// <summary>ncclUniqueId: 128 opaque bytes that rank 0 makes and every rank passes to ncclCommInitRank.</summary>
[StructLayout(LayoutKind.Sequential, Size = Bytes)]
internal unsafe struct NcclUniqueId
{
    public const int Bytes = 128;

    public fixed byte Data[Bytes];
}

/// <summary>The NCCL entry points the NCCL process group uses, resolved once per process.</summary>
internal sealed unsafe class NcclLibrary
{
    /// <summary>ncclSuccess.</summary>
    public const int Success = 0;

    /// <summary>ncclInProgress (a non-blocking communicator is still working).</summary>
    public const int InProgress = 7;

    /// <summary>ncclFloat32.</summary>
    public const int Float32 = 7;

    /// <summary>ncclSum.</summary>
    public const int Sum = 0;

    /// <summary>The library file name of NCCL 2.x.</summary>
    public const string FileName = "libnccl.so.2";

    private static readonly object Gate = new();
    private static NcclLibrary? loaded;

    private NcclLibrary(nint lib)
    {
        nint Fn(string name) => NativeBinding.Export(lib, FileName, name, "Engine needs NCCL 2.4 or newer");

        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)Fn("ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, int>)Fn("ncclCommInitRank");
        CommDestroy = (delegate* unmanaged<nint, int>)Fn("ncclCommDestroy");
        CommAbort = (delegate* unmanaged<nint, int>)Fn("ncclCommAbort");
        CommGetAsyncError = (delegate* unmanaged<nint, int*, int>)Fn("ncclCommGetAsyncError");
        AllReduce = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)Fn("ncclAllReduce");
        Broadcast = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)Fn("ncclBroadcast");
        GetErrorString = (delegate* unmanaged<int, byte*>)Fn("ncclGetErrorString");
        GetVersion = (delegate* unmanaged<int*, int>)Fn("ncclGetVersion");
    }

    public delegate* unmanaged<NcclUniqueId*, int> GetUniqueId { get; }

    /// <summary>ncclCommInitRank(comm*, nranks, id (by value), rank).</summary>
    public delegate* unmanaged<nint*, int, NcclUniqueId, int, int> CommInitRank { get; }

    public delegate* unmanaged<nint, int> CommDestroy { get; }

    public delegate* unmanaged<nint, int> CommAbort { get; }

    public delegate* unmanaged<nint, int*, int> CommGetAsyncError { get; }

    /// <summary>ncclAllReduce(sendbuff, recvbuff, count, datatype, op, comm, stream).</summary>
    public delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> AllReduce { get; }

    /// <summary>ncclBroadcast(sendbuff, recvbuff, count, datatype, root, comm, stream).</summary>
    public delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> Broadcast { get; }

    public delegate* unmanaged<int, byte*> GetErrorString { get; }

    public delegate* unmanaged<int*, int> GetVersion { get; }

    /// <summary>
    /// The library, loaded on first use (<paramref name="path"/> or ENGINE_NCCL_LIBRARY override the file name).
    /// </summary>
    /// <exception cref="DllNotFoundException">NCCL is not installed; the message says what to install.</exception>
    public static NcclLibrary Load(string? path = null) => NativeBinding.Cached(ref loaded, Gate, path, p => new NcclLibrary(NativeBinding.Open(p, "ENGINE_NCCL_LIBRARY", FileName, file =>
        $"NVIDIA's NCCL library {file} could not be loaded, so there is no NCCL process group. Install NCCL 2 for your CUDA " +
        "version (Debian/Ubuntu: `apt-get install -y libnccl2` from NVIDIA's CUDA repository), or train GPUs over MPI " +
        "(MpiProcessGroup; slower: gradients are staged through host memory). ENGINE_NCCL_LIBRARY may name the library file.")));

    /// <summary>NCCL's text for a result code.</summary>
    public string Describe(int code)
    {
        byte* text = GetErrorString(code);
        return text is null ? $"NCCL error {code}" : Marshal.PtrToStringAnsi((nint)text) ?? $"NCCL error {code}";
    }

    /// <summary>Throws when <paramref name="code"/> is an error, with NCCL's text and what was being done.</summary>
    public void Check(int code, string what, int rank)
    {
        if (code != Success)
        {
            throw new ProcessGroupException($"Rank {rank}: {what} failed: {Describe(code)} (NCCL result {code}).", what, []);
        }
    }
}
