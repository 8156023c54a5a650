// The segmentation shapes of the region losses, cross-entropy and focal_softmax: pred (N, C, d1, ...) with a target of
// the same shape (dice, iou, tversky, cross-entropy probabilities) or class indices (N, d1, ...) (cross-entropy,
// focal_softmax). All run as the row losses on the channels-last form (N d1 ..., C): class sums over every position,
// one cross-entropy or focal row per position.
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Engine.Ops;

/// <summary>
/// Runs a loss on (N, C, d1, ...) predictions by moving the channels last (<see cref="ChannelLayout"/>) into per-device
/// scratch tensors, calling the row loss, and moving the gradient back. The scratch is kept per shape (a few shapes at
/// most), so warm calls allocate nothing.
/// </summary>
internal static class SegmentationLosses
{
    private const int MaxCachedShapes = 8;
    private static readonly ConditionalWeakTable<Device, Cache> Caches = new();

    /// <summary>Whether <paramref name="pred"/> is a segmentation shape of <paramref name="spec"/>.</summary>
    public static bool Applies(LossSpec spec, Shape pred) =>
        pred.Rank > 2 && (spec.AcceptsWeight || spec.TakesClassIndices || spec.Op is "dice" or "iou" or "tversky");

    /// <summary>The row-loss shapes (N S, C) and (N S) or (N S, C) of a segmentation call, after checking the target.</summary>
    /// <exception cref="ArgumentException">The target does not fit pred; the message names both.</exception>
    public static (Shape Pred, Shape Target) Flatten(LossSpec spec, Shape pred, Shape target)
    {
        int n = pred[0], c = pred[1];
        int rows = checked((int)(pred.Length / c));
        var positions = pred.ToArray()[2..];
        if (spec.TakesClassIndices)
        {
            var want = new Shape([n, .. positions]);
            if (target != want)
            {
                throw new ArgumentException(
                    $"{spec.Op}: target is {target} but pred is {pred}; expected class indices {want} (one per position{(spec.AcceptsWeight ? ", target_kind indices" : string.Empty)}).", nameof(target));
            }

            return (new Shape(rows, c), new Shape(rows));
        }

        if (target != pred)
        {
            throw new ArgumentException($"{spec.Op}: target is {target} but pred is {pred}; expected a target of pred's shape (one-hot or probabilities over axis 1).", nameof(target));
        }

        return (new Shape(rows, c), new Shape(rows, c));
    }

    public static void Forward(LossSpec spec, Tensor pred, Tensor target, Tensor loss, Tensor? weight, string? variant)
    {
        var s = Prepare(spec, pred, target);
        Losses.Forward(spec, s.Pred, s.Target, loss, weight, variant);
    }

    public static void Backward(LossSpec spec, Tensor pred, Tensor target, Tensor dpred, Tensor? weight, Tensor? gradLoss, float scale, string? variant)
    {
        ArgumentNullException.ThrowIfNull(dpred);
        Activations.SameShape(spec.Op, pred, nameof(pred), dpred, nameof(dpred));
        var s = Prepare(spec, pred, target);
        Losses.Backward(spec, s.Pred, s.Target, s.Grad, weight, gradLoss, scale, variant);
        ChannelLayout.ToChannelsFirst(s.Grad, dpred);
    }

    private static Entry Prepare(LossSpec spec, Tensor pred, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(target);
        bool indices = spec.TakesClassIndices;
        if (!Fits(pred.Shape, target.Shape, indices))
        {
            Flatten(spec, pred.Shape, target.Shape);   // throws with the shapes
        }

        if (target.Device != pred.Device)
        {
            throw new ArgumentException("target lives on another device than pred.", nameof(target));
        }

        var s = Caches.GetValue(pred.Device, static d => new Cache(d)).Get(checked((int)(pred.Length / pred.Shape[1])), pred.Shape[1], indices);
        ChannelLayout.ToChannelsLast(pred, s.Pred);
        if (indices)
        {
            s.Target.CopyFrom(target);
        }
        else
        {
            ChannelLayout.ToChannelsLast(target, s.Target);
        }

        return s;
    }

    /// <summary>Whether target fits pred (without allocating: this runs in every training step).</summary>
    private static bool Fits(Shape pred, Shape target, bool indices)
    {
        if (!indices)
        {
            return target.Equals(pred);
        }

        if (target.Rank != pred.Rank - 1 || target[0] != pred[0])
        {
            return false;
        }

        for (int i = 1; i < target.Rank; i++)
        {
            if (target[i] != pred[i + 1])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Channels-last pred, target and gradient tensors of one shape.</summary>
    private sealed record Entry(Tensor Pred, Tensor Target, Tensor Grad) : IDisposable
    {
        public void Dispose()
        {
            Pred.Dispose();
            Target.Dispose();
            Grad.Dispose();
        }
    }

    /// <summary>One device's scratch, by (rows, classes, indices target); cleared when it would hold too many shapes.</summary>
    private sealed class Cache(Device device)
    {
        private readonly Dictionary<(int Rows, int C, bool Indices), Entry> entries = new();
        private readonly Lock gate = new();

        public Entry Get(int rows, int classes, bool indices)
        {
            var key = (rows, classes, indices);
            lock (gate)
            {
                if (entries.TryGetValue(key, out var e) && !e.Pred.IsDisposed)
                {
                    return e;
                }

                if (entries.Count >= MaxCachedShapes)
                {
                    // Work already queued may still read these; their memory goes back to the allocator, whose later
                    // rents are used in stream order.
                    foreach (var old in entries.Values)
                    {
                        old.Dispose();
                    }

                    entries.Clear();
                }

                var pred = new Shape(rows, classes);
                e = new Entry(Tensor.Empty(device, pred), Tensor.Empty(device, indices ? new Shape(rows) : pred), Tensor.Empty(device, pred));
                entries[key] = e;
                return e;
            }
        }
    }
}
