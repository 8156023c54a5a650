// What a fuzz target is, and the contract every input is held to, in the fuzzer and in the test suite alike: the
// parser accepts the bytes or refuses them with one of its clear error types whose message names the file, within a
// memory budget; any other exception, a silent bad state or a big allocation is a crash.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Reliability.Fuzz;

/// <summary>How a parser took one input.</summary>
internal enum FuzzOutcome
{
    /// <summary>The input was read without error.</summary>
    Accepted,

    /// <summary>The input was refused with a clear error naming the file.</summary>
    Rejected,
}

/// <summary>An input broke the contract: an unexpected exception type, a message without the file's name, a big allocation or a bad state.</summary>
internal sealed class FuzzContractException : Exception
{
    public FuzzContractException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    public FuzzContractException()
    {
    }

    public FuzzContractException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// One parser under fuzzing. <see cref="Run"/> feeds it the bytes of one input (as the file a user received, named
/// <see cref="FuzzWorkspace.SourceName"/> in messages) and returns normally when the input was read; it throws for a
/// refusal, and may throw <see cref="FuzzContractException"/> itself when it sees a bad state (a file written outside
/// its folder, a model changed by a refused load).
/// </summary>
/// <param name="Name">The target's name (a folder of the corpus, an argument of <c>./build.sh fuzz</c>).</param>
/// <param name="Description">What is parsed, for listings.</param>
/// <param name="Run">Feeds one input to the parser.</param>
/// <param name="ClearErrors">The exception types (and their subclasses) that are a clear refusal.</param>
/// <param name="Instrument">The assemblies and namespace prefixes afl-fuzz should see covered, as <c>Assembly.dll:Namespace.Prefix</c>.</param>
/// <param name="Seeds">Valid (and a few deliberately broken) inputs that start the corpus.</param>
internal sealed record FuzzTarget(
    string Name,
    string Description,
    Action<byte[], FuzzWorkspace> Run,
    Type[] ClearErrors,
    string[] Instrument,
    Func<IEnumerable<(string Name, byte[] Data)>> Seeds)
{
    /// <summary>Bytes an input may make the parser allocate on its thread: a fixed allowance plus a multiple of the input's size.</summary>
    public static long AllocationBudget(int inputLength) => (64L << 20) + (64L * inputLength);

    /// <summary>Runs one input under the contract.</summary>
    /// <exception cref="FuzzContractException">The input broke the contract; the message says how.</exception>
    public FuzzOutcome Execute(byte[] data, FuzzWorkspace workspace) => Execute(data, workspace, out _);

    /// <summary>Runs one input under the contract; <paramref name="message"/> is the refusal's message.</summary>
    /// <exception cref="FuzzContractException">The input broke the contract; the message says how.</exception>
    public FuzzOutcome Execute(byte[] data, FuzzWorkspace workspace, out string? message)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(workspace);
        workspace.Reset();
        long before = GC.GetAllocatedBytesForCurrentThread();
        FuzzOutcome outcome;
        message = null;
        try
        {
            Run(data, workspace);
            outcome = FuzzOutcome.Accepted;
        }
        catch (FuzzContractException)
        {
            throw;
        }
        catch (Exception e) when (ClearErrors.Any(t => t.IsInstanceOfType(e)))
        {
            if (!e.Message.Contains(workspace.SourceName, StringComparison.Ordinal))
            {
                throw new FuzzContractException($"{Name}: the {e.GetType().Name} does not name the file ({workspace.SourceName}): {e.Message}", e);
            }

            outcome = FuzzOutcome.Rejected;
            message = e.Message;
        }
        catch (Exception e)
        {
            throw new FuzzContractException($"{Name}: {e.GetType().FullName} is not a clear error of this parser ({string.Join(", ", ClearErrors.Select(t => t.Name))}): {e.Message}", e);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > AllocationBudget(data.Length))
        {
            throw new FuzzContractException($"{Name}: an input of {data.Length} bytes made the parser allocate {allocated:N0} bytes (budget {AllocationBudget(data.Length):N0}).");
        }

        return outcome;
    }
}
