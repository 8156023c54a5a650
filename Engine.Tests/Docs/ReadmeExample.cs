// The README's usage example, compiled and run by a test; the test also checks the README shows this exact code.
using System;
using Engine.Ops;

namespace Engine.Tests.Docs;

public static class ReadmeExample
{
    public static float[] Run()
    {
        // README-EXAMPLE-START
        using var device = Device.Create();   // CUDA, then OpenCL, then the CPU (ENGINE_DEVICE overrides)
        using var a = Tensor.FromHost(device, [1f, 2f, 3f, 4f, 5f, 6f], new Shape(2, 3));
        using var b = Tensor.FromHost(device, [1f, 0f, 0f, 1f, 1f, 1f], new Shape(3, 2));
        using var c = Tensor.Zeros(device, new Shape(2, 2));
        GemmOp.Run(a, b, c);                    // c = a * b
        Console.WriteLine(string.Join(", ", c.ToArray()));   // 4, 5, 10, 11
        // README-EXAMPLE-END
        return c.ToArray();
    }
}
