// Scenario "collectives": every collective of the process group with values each rank can check, printed as
// "rank R ok NAME" lines (or "rank R FAIL NAME ...") for the test to read.
using System;
using System.Globalization;
using System.Linq;
using Engine;
using Engine.Distributed;

namespace Engine.Tests.RankHost;

internal static class Collectives
{
    public static int Run(ProcessGroup g)
    {
        int r = g.Rank, n = g.Size, failures = 0;
        void Check(string name, bool ok, string detail)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {r} {(ok ? "ok" : "FAIL")} {name}{(ok ? string.Empty : " " + detail)}"));
            failures += ok ? 0 : 1;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rank {r} of {n} local {g.LocalRank} of {g.LocalSize} backend {g.Backend}"));
        float[] f = [r, 1, 0.5f];
        g.AllReduceSum(f);
        Check("allreduce-float", f[0] == n * (n - 1) / 2f && f[1] == n && f[2] == n * 0.5f, string.Join(",", f));

        double[] d = [r * 1e-3, 1e15 + r];
        g.AllReduceSum(d);
        Check("allreduce-double", Math.Abs(d[0] - (n * (n - 1) / 2 * 1e-3)) < 1e-12 && d[1] == (n * 1e15) + (n * (n - 1) / 2), string.Join(",", d));

        long[] l = [r, long.MaxValue / 8];
        g.AllReduceSum(l);
        Check("allreduce-int64", l[0] == n * (n - 1) / 2 && l[1] == (long.MaxValue / 8) * n, string.Join(",", l));

        // A large reduction (several MiB) with values whose sum is exact in float.
        var big = new float[3 << 20];
        for (int i = 0; i < big.Length; i++)
        {
            big[i] = (i % 1000) + r;
        }

        g.AllReduceSum(big);
        int bad = Enumerable.Range(0, big.Length).Count(i => big[i] != (n * (i % 1000)) + (n * (n - 1) / 2));
        Check("allreduce-12MiB", bad == 0, $"{bad} wrong elements");

        float[] b = [r + 10, r + 20];
        g.Broadcast(b, n - 1);
        Check("broadcast", b[0] == n - 1 + 10 && b[1] == n - 1 + 20, string.Join(",", b));

        float[] mine = [r, -r];
        var all = new float[2 * n];
        g.AllGather(mine, all);
        Check("allgather", Enumerable.Range(0, n).All(k => all[2 * k] == k && all[(2 * k) + 1] == -k), string.Join(",", all));

        using var device = Device.Create(DeviceKind.Cpu);
        using var t = Tensor.FromHost(device, [r, 2 * r, 3], new Shape(3));
        g.AllReduceSum(t);
        var tv = t.ToArray();
        Check("allreduce-tensor", tv[0] == n * (n - 1) / 2f && tv[1] == n * (n - 1) && tv[2] == 3 * n, string.Join(",", tv));
        using var u = Tensor.FromHost(device, [r, r], new Shape(2));
        g.Broadcast(u, 0);
        Check("broadcast-tensor", u.ToArray().All(v => v == 0), string.Join(",", u.ToArray()));

        g.Barrier();
        Check("barrier", true, string.Empty);
        return failures == 0 ? 0 : 1;
    }
}
