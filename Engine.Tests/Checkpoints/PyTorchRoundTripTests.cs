// Safetensors between PyTorch and the engine, run by the suite itself: PyTorch writes a state dict that the engine
// loads and runs, and the engine writes one that PyTorch verifies with an independent reader and runs; both sides
// compute the same output for the same input. Needs /usr/bin/python3 with python3-torch (a failure, not a skip).
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Engine.Checkpoints;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Checkpoints;

public sealed partial class PyTorchRoundTripTests
{
    private static Device Dev => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    // The model of scripts/safetensors_interop.py: torch.nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2)).
    private static Sequential Model() => new(new Linear(3, 4), new Relu(), new Linear(4, 2));

    [Test]
    public void PyTorch_writes_and_the_engine_loads_and_runs()
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "from_pytorch.safetensors");
            var y = ParseY(PyTorch.RunScript("safetensors_interop.py", "write-python", path));
            using var model = Model();
            using var net = model.Compile(Dev, [1, 3], options: new CompileOptions { Training = false });
            net.LoadWeights(path);
            Assert.That(net.Forward([1f, 1f, 1f]).Output.ToArray(), Is.EqualTo(y).Within(1e-6));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void The_engine_writes_and_PyTorch_verifies_and_runs()
    {
        string dir = TempDir();
        try
        {
            using var model = Model();
            using var net = model.Compile(Dev, [1, 3], options: new CompileOptions { Training = false });
            var names = net.Parameters.Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
            foreach (var p in net.Parameters)
            {
                // The sample of scripts/safetensors_interop.py with seed 1: element i of the k-th tensor, names sorted.
                int k = names.IndexOf(p.Name);
                p.Value.CopyFrom(Enumerable.Range(0, (int)p.Length).Select(i => (float)((((3 * i) + (7 * k) + 1) % 11 / 8.0) - 0.5)).ToArray());
            }

            string path = Path.Combine(dir, "from_engine.safetensors");
            net.SaveWeights(path);
            var output = PyTorch.RunScript("safetensors_interop.py", "verify", path);
            Assert.That(output, Does.Contain(": OK (4 tensors"));
            Assert.That(ParseY(output), Is.EqualTo(net.Forward([1f, 1f, 1f]).Output.ToArray()).Within(1e-6));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static float[] ParseY(string output)
    {
        var m = YLine().Match(output);
        Assert.That(m.Success, Is.True, $"no 'y = [[...]]' in:\n{output}");
        return m.Groups[1].Value.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }

    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "engine-pt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [GeneratedRegex(@"y = \[\[([^\]]*)\]\]")]
    private static partial Regex YLine();
}
