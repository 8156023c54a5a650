// A thin binding to Open MPI's C library (libmpi.so.40), loaded only when a process group over MPI is created.
// Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the addresses of exported globals, so
// they are read with NativeLibrary.GetExport; MPICH-style integer handles (as NuGet's MPI.NET uses) crash here.
using System;
using System.Text;

namespace Engine.Distributed;

/// <summary>The Open MPI entry points and predefined handles the process groups use, resolved once per process.</summary>
internal sealed unsafe class MpiLibrary
{
    /// <summary>MPI_SUCCESS.</summary>
    public const int Success = 0;

    /// <summary>MPI_THREAD_MULTIPLE in Open MPI's numbering.</summary>
    public const int ThreadMultiple = 3;

    /// <summary>MPI_COMM_TYPE_SHARED in Open MPI's numbering.</summary>
    public const int CommTypeShared = 0;

    /// <summary>The library file name of Open MPI 4.x and 5.x.</summary>
    public const string FileName = "libmpi.so.40";

    private static readonly object Gate = new();
    private static MpiLibrary? loaded;

    private MpiLibrary(nint lib)
    {
        nint Fn(string name) => NativeBinding.Export(lib, FileName, name, "Engine needs Open MPI 4.x or newer");
        nint Global(string name) => NativeBinding.Export(lib, FileName, name, "it is not Open MPI (Engine reads Open MPI's predefined handles)");

        Initialized = (delegate* unmanaged<int*, int>)Fn("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Fn("MPI_Finalized");
        InitThread = (delegate* unmanaged<int*, nint*, int, int*, int>)Fn("MPI_Init_thread");
        FinalizeMpi = (delegate* unmanaged<int>)Fn("MPI_Finalize");
        Abort = (delegate* unmanaged<nint, int, int>)Fn("MPI_Abort");
        CommRank = (delegate* unmanaged<nint, int*, int>)Fn("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Fn("MPI_Comm_size");
        CommDup = (delegate* unmanaged<nint, nint*, int>)Fn("MPI_Comm_dup");
        CommIdup = (delegate* unmanaged<nint, nint*, nint*, int>)Fn("MPI_Comm_idup");
        CommFree = (delegate* unmanaged<nint*, int>)Fn("MPI_Comm_free");
        CommSplitType = (delegate* unmanaged<nint, int, int, nint, nint*, int>)Fn("MPI_Comm_split_type");
        CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Fn("MPI_Comm_set_errhandler");
        Iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Fn("MPI_Iallreduce");
        Ibcast = (delegate* unmanaged<void*, int, nint, int, nint, nint*, int>)Fn("MPI_Ibcast");
        Iallgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int>)Fn("MPI_Iallgather");
        Ibarrier = (delegate* unmanaged<nint, nint*, int>)Fn("MPI_Ibarrier");
        Isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Fn("MPI_Isend");
        Irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Fn("MPI_Irecv");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Fn("MPI_Test");
        Cancel = (delegate* unmanaged<nint*, int>)Fn("MPI_Cancel");
        RequestFree = (delegate* unmanaged<nint*, int>)Fn("MPI_Request_free");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Fn("MPI_Error_string");
        GetProcessorName = (delegate* unmanaged<byte*, int*, int>)Fn("MPI_Get_processor_name");
        CommWorld = Global("ompi_mpi_comm_world");
        Float = Global("ompi_mpi_float");
        Double = Global("ompi_mpi_double");
        Byte = Global("ompi_mpi_byte");
        Int64 = Global("ompi_mpi_int64_t");
        OpSum = Global("ompi_mpi_op_sum");
        ErrorsReturn = Global("ompi_mpi_errors_return");
        InfoNull = Global("ompi_mpi_info_null");
        RequestNull = Global("ompi_request_null");
    }

    public delegate* unmanaged<int*, int> Initialized { get; }

    public delegate* unmanaged<int*, int> Finalized { get; }

    public delegate* unmanaged<int*, nint*, int, int*, int> InitThread { get; }

    public delegate* unmanaged<int> FinalizeMpi { get; }

    public delegate* unmanaged<nint, int, int> Abort { get; }

    public delegate* unmanaged<nint, int*, int> CommRank { get; }

    public delegate* unmanaged<nint, int*, int> CommSize { get; }

    public delegate* unmanaged<nint, nint*, int> CommDup { get; }

    /// <summary>MPI_Comm_idup(comm, newcomm, request): a duplicate made by a non-blocking collective.</summary>
    public delegate* unmanaged<nint, nint*, nint*, int> CommIdup { get; }

    public delegate* unmanaged<nint*, int> CommFree { get; }

    public delegate* unmanaged<nint, int, int, nint, nint*, int> CommSplitType { get; }

    public delegate* unmanaged<nint, nint, int> CommSetErrhandler { get; }

    /// <summary>MPI_Iallreduce(sendbuf, recvbuf, count, datatype, op, comm, request).</summary>
    public delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> Iallreduce { get; }

    /// <summary>MPI_Ibcast(buffer, count, datatype, root, comm, request).</summary>
    public delegate* unmanaged<void*, int, nint, int, nint, nint*, int> Ibcast { get; }

    /// <summary>MPI_Iallgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, request).</summary>
    public delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int> Iallgather { get; }

    public delegate* unmanaged<nint, nint*, int> Ibarrier { get; }

    /// <summary>MPI_Isend(buf, count, datatype, dest, tag, comm, request).</summary>
    public delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Isend { get; }

    /// <summary>MPI_Irecv(buf, count, datatype, source, tag, comm, request).</summary>
    public delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Irecv { get; }

    /// <summary>MPI_Test(request, flag, status); status may be MPI_STATUS_IGNORE (null).</summary>
    public delegate* unmanaged<nint*, int*, void*, int> Test { get; }

    public delegate* unmanaged<nint*, int> Cancel { get; }

    public delegate* unmanaged<nint*, int> RequestFree { get; }

    public delegate* unmanaged<int, byte*, int*, int> ErrorString { get; }

    public delegate* unmanaged<byte*, int*, int> GetProcessorName { get; }

    /// <summary>MPI_COMM_WORLD.</summary>
    public nint CommWorld { get; }

    /// <summary>MPI_FLOAT.</summary>
    public nint Float { get; }

    /// <summary>MPI_DOUBLE.</summary>
    public nint Double { get; }

    /// <summary>MPI_BYTE.</summary>
    public nint Byte { get; }

    /// <summary>MPI_INT64_T.</summary>
    public nint Int64 { get; }

    /// <summary>MPI_SUM.</summary>
    public nint OpSum { get; }

    /// <summary>MPI_ERRORS_RETURN: calls report errors as return codes instead of aborting the job.</summary>
    public nint ErrorsReturn { get; }

    /// <summary>MPI_INFO_NULL.</summary>
    public nint InfoNull { get; }

    /// <summary>MPI_REQUEST_NULL (what MPI_Test leaves in a completed request).</summary>
    public nint RequestNull { get; }

    /// <summary>
    /// The library, loaded on first use. Throws <see cref="DllNotFoundException"/> with what to install when it is
    /// missing (<paramref name="path"/> overrides the file name, for tests).
    /// </summary>
    public static MpiLibrary Load(string? path = null) => NativeBinding.Cached(ref loaded, Gate, path, p => new MpiLibrary(NativeBinding.Open(p, "ENGINE_MPI_LIBRARY", FileName, file =>
        $"Open MPI's library {file} could not be loaded, so there is no MPI process group. Install Open MPI: on Debian or " +
        "Ubuntu `apt-get install -y openmpi-bin` (it brings the library, package libopenmpi3, and mpirun); elsewhere your " +
        "distribution's Open MPI 4.x package. ENGINE_MPI_LIBRARY may name the library file.")));

    /// <summary>Open MPI's text for an error code.</summary>
    public string Describe(int code)
    {
        byte* buffer = stackalloc byte[512];
        int length = 0;
        return ErrorString(code, buffer, &length) == Success && length > 0
            ? Encoding.ASCII.GetString(buffer, Math.Min(length, 511))
            : $"MPI error {code}";
    }

    /// <summary>This machine's name as MPI reports it.</summary>
    public string ProcessorName()
    {
        byte* buffer = stackalloc byte[256];
        int length = 0;
        return GetProcessorName(buffer, &length) == Success ? Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, 255)) : Environment.MachineName;
    }

    /// <summary>Throws when <paramref name="code"/> is an error, with Open MPI's text and what was being done.</summary>
    public void Check(int code, string what)
    {
        if (code != Success)
        {
            throw new ProcessGroupException($"{what} failed: {Describe(code)} (MPI error {code}).", what, []);
        }
    }
}
