// Exported files are valid ONNX by ONNX's own tooling, not only by what ONNX Runtime accepts: every export test model
// (every layer type and activation) passes onnx.checker's full check (node schemas at opset 17, strict shape inference)
// and the inferred output shapes agree with the declared ones. Runs scripts/onnx_check.py with Debian's python3-onnx,
// which .ci/run installs beside python3-torch (a failure, not a skip, without it).
using System.IO;
using System.Linq;
using Engine.Nn;
using Engine.Onnx;
using Engine.Tests.Data;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Onnx;

public sealed class OnnxCheckerTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    [Test]
    public void Every_exported_test_model_passes_the_onnx_checker()
    {
        using var tmp = new TempDir();
        var paths = OnnxTestModels.All.Select(m =>
        {
            using var model = m.Build();
            using var net = model.Compile(Host, m.Inputs, options: new CompileOptions { Training = false });
            string path = Path.Combine(tmp.Path, m.Name + ".onnx");
            OnnxExporter.Export(net, path);
            return path;
        }).ToArray();

        var output = PyTorch.RunScript("onnx_check.py", paths);
        foreach (var path in paths)
        {
            Assert.That(output, Does.Contain($"OK {path} (opset 17,"), Path.GetFileName(path));
        }
    }
}
