// The contract of one op family's conformance handler; the runner finds handlers by reflection.
using System.Collections.Generic;

namespace Engine.Conformance;

/// <summary>
/// Runs conformance cases of some ops on a device. Implementations have a public parameterless constructor and
/// are discovered by <see cref="ConformanceRunner"/>; adding an op family means adding one handler class.
/// </summary>
public interface IConformanceHandler
{
    /// <summary>The op names this handler runs.</summary>
    IReadOnlyCollection<string> Ops { get; }

    /// <summary>Runs a case and returns the computed outputs by name (at least every output the case lists).</summary>
    IReadOnlyDictionary<string, HostTensor> Run(Device device, ConformanceCase testCase);
}
