// The host thread pool covers every index exactly once, nests safely, and allocates nothing per call.
using System;
using System.Threading;
using Engine.Backends.Cpu;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed unsafe class HostParallelTests
{
    private struct CountBody : IRangeBody
    {
        public int* Hits;

        public readonly void Run(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                Interlocked.Increment(ref Hits[i]);
            }
        }
    }

    private struct NestedBody : IRangeBody
    {
        public int* Hits;
        public int Inner;

        public readonly void Run(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                var body = new CountBody { Hits = Hits + (i * Inner) };
                HostParallel.For(Inner, ref body);
            }
        }
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(1000)]
    [TestCase(100_003)]
    public void Every_index_runs_exactly_once(int n)
    {
        var hits = new int[n];
        fixed (int* p = hits)
        {
            var body = new CountBody { Hits = p };
            HostParallel.For(n, ref body);
        }

        Assert.That(hits, Is.All.EqualTo(1));
    }

    [Test]
    public void Nested_calls_run_inline()
    {
        var hits = new int[50 * 30];
        fixed (int* p = hits)
        {
            var body = new NestedBody { Hits = p, Inner = 30 };
            HostParallel.For(50, ref body);
        }

        Assert.That(hits, Is.All.EqualTo(1));
    }

    [Test]
    public void Calls_allocate_nothing_once_warm()
    {
        var hits = new int[4096];
        fixed (int* p = hits)
        {
            var body = new CountBody { Hits = p };
            // Warm up past tiered compilation (the runtime allocates a little while it re-JITs hot methods).
            for (int round = 0; round < 3; round++)
            {
                for (int r = 0; r < 100; r++)
                {
                    HostParallel.For(hits.Length, ref body);
                }

                Thread.Sleep(100);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            long beforeAll = GC.GetTotalAllocatedBytes(true);
            for (int r = 0; r < 2000; r++)
            {
                HostParallel.For(hits.Length, ref body);
            }

            long after = GC.GetAllocatedBytesForCurrentThread();
            long afterAll = GC.GetTotalAllocatedBytes(true);
            Assert.That(after - before, Is.Zero, "calling thread");
            Assert.That(afterAll - beforeAll, Is.Zero, "all threads (workers included)");
        }

        Assert.That(hits, Is.All.EqualTo(2300));
    }
}
