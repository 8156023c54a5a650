// The error of a collective that failed or timed out: what was being done and which ranks are suspected.
using System;
using System.Collections.Generic;

namespace Engine.Distributed;

/// <summary>
/// A collective call of a <see cref="ProcessGroup"/> failed or did not complete within the group's timeout (a rank
/// died, hung, or made different calls). The message names the ranks suspected and why.
/// </summary>
public sealed class ProcessGroupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ProcessGroupException(string message, string operation, IReadOnlyList<int> suspectRanks, Exception? innerException = null)
        : base(message, innerException)
    {
        Operation = operation;
        SuspectRanks = suspectRanks;
    }

    /// <summary>Creates the exception.</summary>
    public ProcessGroupException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ProcessGroupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public ProcessGroupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The call that failed, e.g. <c>allreduce</c>.</summary>
    public string Operation { get; } = string.Empty;

    /// <summary>The ranks that did not answer or did not join the call (empty when none could be told apart).</summary>
    public IReadOnlyList<int> SuspectRanks { get; } = [];
}
