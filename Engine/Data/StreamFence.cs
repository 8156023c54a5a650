// Host-side "has the work queued so far on this stream finished?" markers: CUDA events where there are CUDA events,
// stream synchronization elsewhere. ILGPU offers events only through profiling markers, which need profiling on.
using System;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Engine.Data;

/// <summary>
/// Marks a point in a stream (<see cref="Record"/>) and lets the host wait until the stream has passed it
/// (<see cref="Wait"/>). Waiting when nothing was recorded since the last wait returns at once.
/// </summary>
internal abstract class StreamFence : IDisposable
{
    protected StreamFence(AcceleratorStream stream)
    {
        Stream = stream;
    }

    protected AcceleratorStream Stream { get; }

    protected bool IsPending { get; set; }

    /// <summary>A fence on <paramref name="stream"/>: a CUDA event on CUDA, a stream synchronization elsewhere.</summary>
    public static StreamFence Create(Accelerator accelerator, AcceleratorStream stream) =>
        stream is CudaStream cuda ? new CudaEventFence(accelerator, cuda) : new SynchronizingFence(stream);

    /// <summary>Marks everything queued on the stream so far.</summary>
    public abstract void Record();

    /// <summary>Blocks until the stream has finished the work marked by the last <see cref="Record"/>.</summary>
    public abstract void Wait();

    /// <inheritdoc />
    public virtual void Dispose()
    {
    }

    private sealed class SynchronizingFence(AcceleratorStream stream) : StreamFence(stream)
    {
        public override void Record() => IsPending = true;

        public override void Wait()
        {
            if (IsPending)
            {
                Stream.Synchronize();
                IsPending = false;
            }
        }
    }

    private sealed class CudaEventFence : StreamFence
    {
        private readonly Accelerator accelerator;
        private IntPtr evt;

        public CudaEventFence(Accelerator accelerator, CudaStream stream)
            : base(stream)
        {
            this.accelerator = accelerator;
            using var binding = accelerator.BindScoped();
            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.CreateEvent(out evt, CudaEventFlags.CU_EVENT_DISABLE_TIMING));
        }

        public override void Record()
        {
            using var binding = accelerator.BindScoped();
            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.RecordEvent(evt, ((CudaStream)Stream).StreamPtr));
            IsPending = true;
        }

        public override void Wait()
        {
            if (!IsPending)
            {
                return;
            }

            using var binding = accelerator.BindScoped();
            var status = CudaAPI.CurrentAPI.QueryEvent(evt);
            if (status == CudaError.CUDA_ERROR_NOT_READY)
            {
                status = CudaAPI.CurrentAPI.SynchronizeEvent(evt);
            }

            CudaException.ThrowIfFailed(status);
            IsPending = false;
        }

        public override void Dispose()
        {
            if (evt != IntPtr.Zero)
            {
                using var binding = accelerator.BindScoped();
                CudaAPI.CurrentAPI.DestroyEvent(evt);
                evt = IntPtr.Zero;
            }
        }
    }
}
