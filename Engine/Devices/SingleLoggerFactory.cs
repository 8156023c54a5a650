// DeviceOptions.Logger as a factory: every category the engine asks for logs to the one logger the host gave.
using System;
using Microsoft.Extensions.Logging;

namespace Engine;

/// <summary>An <see cref="ILoggerFactory"/> whose every logger is one host-given <see cref="ILogger"/>.</summary>
internal sealed class SingleLoggerFactory(ILogger logger) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => logger;

    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("The engine's logger factory over DeviceOptions.Logger takes no providers; pass DeviceOptions.LoggerFactory instead.");

    public void Dispose()
    {
    }
}
