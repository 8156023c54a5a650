// The safetensors reader and writer: interop with files written and verified by Python, and malformed-file errors.
using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text;
using Engine.Checkpoints;
using Engine.Nn;
using Engine.Tests.Infrastructure;
using NUnit.Framework;

namespace Engine.Tests.Checkpoints;

public sealed class SafeTensorsTests
{
    private static readonly (string Name, int[] Shape)[] Sample = [("0.bias", [4]), ("0.weight", [4, 3]), ("2.bias", [2]), ("2.weight", [2, 4])];

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "safetensors", name);

    private static Device Dev => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, ForceKernels: false));

    /// <summary>Element i of the k-th sample tensor (names sorted), as scripts/safetensors_interop.py defines it.</summary>
    private static float[] SampleData(int k, int n, int seed) =>
        Enumerable.Range(0, n).Select(i => (float)((((3 * i) + (7 * k) + seed) % 11 / 8.0) - 0.5)).ToArray();

    /// <summary>The state dict of torch.nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2)).</summary>
    internal static ParameterSet SampleModel(Device dev) => ParameterSet.Create(dev, [
        ("0.weight", new Shape(4, 3), ParameterRole.Weight), ("0.bias", new Shape(4), ParameterRole.Bias),
        ("2.weight", new Shape(2, 4), ParameterRole.Weight), ("2.bias", new Shape(2), ParameterRole.Bias)]);

    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "engine-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Test]
    public void Reads_a_file_written_by_python()
    {
        var f = SafeTensorsFile.Read(FixturePath("python_written.safetensors"));
        Assert.That(f.Metadata["format"], Is.EqualTo("pt"));
        Assert.That(f.Metadata["writer"], Is.EqualTo("scripts/safetensors_interop.py"));
        Assert.That(f.Tensors.Select(t => t.Name), Is.EquivalentTo(Sample.Select(s => s.Name)));
        using var model = SampleModel(Dev);
        Checkpoint.LoadWeights(FixturePath("python_written.safetensors"), model);
        for (int k = 0; k < Sample.Length; k++)
        {
            var (name, shape) = Sample[k];
            Assert.That(f[name].Shape, Is.EqualTo(shape));
            Assert.That(model[name].Value.ToArray(), Is.EqualTo(SampleData(k, shape.Aggregate(1, (a, b) => a * b), seed: 0)), name);
        }
    }

    [Test]
    public void Writes_the_bytes_that_python_verified()
    {
        // scripts/safetensors_interop.py verify Engine.Tests/Fixtures/safetensors/csharp_written.safetensors parses this
        // file with an independent reader and loads it into a PyTorch model; this test keeps the writer's output equal to it.
        string dir = TempDir();
        try
        {
            using var model = SampleModel(Dev);
            for (int k = 0; k < Sample.Length; k++)
            {
                model[Sample[k].Name].Value.CopyFrom(SampleData(k, (int)model[Sample[k].Name].Length, seed: 1));
            }

            string path = Path.Combine(dir, "model.safetensors");
            Checkpoint.SaveWeights(path, model);
            string? copy = Environment.GetEnvironmentVariable("ENGINE_SAFETENSORS_SAMPLE");
            if (!string.IsNullOrEmpty(copy))
            {
                File.Copy(path, copy, overwrite: true);
            }

            Assert.That(File.ReadAllBytes(path), Is.EqualTo(File.ReadAllBytes(FixturePath("csharp_written.safetensors"))));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path)) % 8, Is.Zero, "header padded to 8 bytes");
            Assert.That(Directory.GetFiles(dir), Has.Length.EqualTo(1), "no temporary file left behind");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] Valid()
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "a.safetensors");
            SafeTensors.Write(path, [("a", [2, 3], new float[6]), ("b", [5], new float[5])], new System.Collections.Generic.Dictionary<string, string> { ["k"] = "v" });
            return File.ReadAllBytes(path);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] WithHeader(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        return b;
    }

    [Test]
    public void Truncated_and_corrupt_files_give_clear_errors()
    {
        var ok = Valid();
        Assert.That(SafeTensorsFile.Parse(ok).Metadata["k"], Is.EqualTo("v"));
        Assert.That(() => SafeTensorsFile.Parse(ok[..^5], "f"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("truncated file").And.Message.Contain("need 44 bytes"));
        Assert.That(() => SafeTensorsFile.Parse(ok[..5], "f"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("8-byte header length"));
        Assert.That(() => SafeTensorsFile.Parse(ok[..40], "f"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("exceeds"));
        Assert.That(() => SafeTensorsFile.Parse([.. ok, 1, 2], "f"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("trailing bytes"));
        var huge = (byte[])ok.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue / 2);
        Assert.That(() => SafeTensorsFile.Parse(huge, "f"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("over the"));
        var garbage = (byte[])ok.Clone();
        garbage[9] = (byte)'#';
        Assert.That(() => SafeTensorsFile.Parse(garbage, "f"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("not valid UTF-8 JSON"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("[1]", 0), "f"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("does not start with '{'"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("= 8 bytes, but data_offsets [0, 4] span 4"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("leave a gap"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("overlap"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("unknown dtype 'Q7'"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"__metadata__\":{\"a\":1}}", 0), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("not a string"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}", 4), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("'a' has shape [2147483647, 2147483647, 2147483647], more bytes than any file holds"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999999]}}", 4), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("needs data_offsets [begin, end] of two integers"));
        Assert.That(() => SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 4), "f"),
            Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("invalid data_offsets [8, 4]"));
        var f64 = SafeTensorsFile.Parse(WithHeader("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8), "f");
        Assert.That(() => f64.ReadFloat32("a"), Throws.InstanceOf<SafeTensorsFormatException>().With.Message.Contain("dtype F64; expected F32"));
    }

    [Test]
    public void Mutated_files_parse_or_fail_with_a_clear_error()
    {
        // Bit flips, truncations, 0xFF runs and repeated bytes in the file PyTorch wrote: the reader either parses it and
        // reads every tensor, or throws SafeTensorsFormatException naming the file; never another exception or a crash.
        var good = File.ReadAllBytes(FixturePath("python_written.safetensors"));
        var rng = new Random(16);
        var (parsed, refused) = ByteMutations.Check<SafeTensorsFormatException>(good, 1000, rng, "mutant", bytes =>
        {
            var file = SafeTensorsFile.Parse(bytes, "mutant");
            foreach (var t in file.Tensors)
            {
                Assert.That(file.ReadFloat32(t.Name), Has.Length.EqualTo(t.ElementCount));
            }
        });

        TestContext.Out.WriteLine($"{parsed} mutants parsed, {refused} refused");
        Assert.That(parsed, Is.GreaterThan(0));
        Assert.That(refused, Is.GreaterThan(0));
    }

    [Test]
    public void Loading_a_file_of_another_dtype_or_shape_names_the_file_and_the_tensor()
    {
        string dir = TempDir();
        try
        {
            // 0.weight as F16 (24 bytes for [4, 3]) and 2.weight with a shape the model does not have.
            string header = "{\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"0.weight\":{\"dtype\":\"F16\",\"shape\":[4,3],\"data_offsets\":[16,40]},"
                + "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},\"2.weight\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[48,80]}}";
            string path = Path.Combine(dir, "hostile.safetensors");
            File.WriteAllBytes(path, WithHeader(header, 80));
            using var model = SampleModel(Dev);
            var ex = Assert.Throws<CheckpointMismatchException>(() => Checkpoint.LoadWeights(path, model))!;
            Assert.That(ex.Message, Does.Contain(path).And.Contain("'0.weight' is F16 in the file, the model needs F32").And.Contain("'2.weight' is [4, 2] in the file, [2, 4] in the model"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Writer_rejects_bad_tensor_lists()
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "x.safetensors");
            Assert.That(() => SafeTensors.Write(path, [("a", [2], new float[2]), ("a", [1], new float[1])]), Throws.ArgumentException.With.Message.Contain("'a' appears twice"));
            Assert.That(() => SafeTensors.Write(path, [("a", [2, 2], new float[3])]), Throws.ArgumentException.With.Message.Contain("[2, 2] but 3 values"));
            Assert.That(() => SafeTensors.Write(path, [("__metadata__", [1], new float[1])]), Throws.ArgumentException.With.Message.Contain("not allowed"));
            Assert.That(Directory.GetFiles(dir), Is.Empty);
            SafeTensors.Write(path, [("a", [1], [1f])]);
            SafeTensors.Write(path, [("a", [1], [2f])]);
            Assert.That(SafeTensorsFile.Read(path).ReadFloat32("a"), Is.EqualTo(new[] { 2f }), "overwritten in place");
            Assert.That(Directory.GetFiles(dir), Has.Length.EqualTo(1));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
