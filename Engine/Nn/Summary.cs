// CompiledModel.Summary: a table of the nodes with output shapes, parameter counts and FLOPs, like Keras' summary.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Engine.Nn;

/// <summary>One row of <see cref="CompiledModel.SummaryRows"/>.</summary>
/// <param name="Name">The node's name (module path).</param>
/// <param name="Layer">The layer's description.</param>
/// <param name="OutputShape">Output shape (the first output).</param>
/// <param name="Parameters">Parameter elements (0 for a second use of a shared layer).</param>
/// <param name="Flops">Forward floating-point operations for the compiled batch.</param>
/// <param name="Frozen">Whether the layer's parameters are frozen.</param>
public sealed record SummaryRow(string Name, string Layer, Shape OutputShape, long Parameters, long Flops, bool Frozen);

public sealed partial class CompiledModel
{
    /// <summary>
    /// The rows of <see cref="Summary"/>: one per node in execution order. Parameter counts follow the layer
    /// definitions: dense S_in*S_out + S_out; convolution K_w*K_h*D_in*D_out + D_out; depthwise-separable
    /// K_w*K_h*D_in + D_in*D_out. FLOPs count a multiply-add as 2.
    /// </summary>
    public IReadOnlyList<SummaryRow> SummaryRows()
    {
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        var rows = new List<SummaryRow>();
        foreach (var n in schedule.Forward)
        {
            long count = seen.Add(n.Layer) ? n.Layer.ParameterSpecs.Sum(p => p.Shape.Length) : 0;
            var ins = n.Inputs.Select(v => v.Shape).ToArray();
            var outs = n.Outputs.Select(v => v.Shape).ToArray();
            rows.Add(new SummaryRow(n.Name, n.Layer.Describe(), outs[0], count, n.Layer.Flops(ins, outs), n.Layer.IsFrozen && count > 0));
        }

        return rows;
    }

    /// <summary>A printable table: layers, output shapes, parameters and FLOPs, then totals and the memory plan's peak.</summary>
    public string Summary()
    {
        var rows = SummaryRows();
        var ci = CultureInfo.InvariantCulture;
        string[][] cells = rows.Select(r => new[]
        {
            r.Name, r.Layer, r.OutputShape.ToString(), r.Parameters.ToString("N0", ci) + (r.Frozen ? " (frozen)" : string.Empty), r.Flops.ToString("N0", ci),
        }).Prepend(["Layer", "Type", "Output shape", "Params", "FLOPs"]).ToArray();
        var widths = Enumerable.Range(0, 5).Select(c => cells.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        void Line(string[] r)
        {
            for (int c = 0; c < 5; c++)
            {
                sb.Append(c >= 3 ? r[c].PadLeft(widths[c]) : r[c].PadRight(widths[c]));
                sb.Append(c < 4 ? "  " : "\n");
            }
        }

        Line(cells[0]);
        sb.Append('-', widths.Sum() + 8).Append('\n');
        foreach (var r in cells.Skip(1))
        {
            Line(r);
        }

        sb.Append('-', widths.Sum() + 8).Append('\n');
        var ps = state.Parameters?.ToArray() ?? [];
        long total = ps.Sum(p => p.Length), trainable = ps.Where(p => p.RequiresGrad).Sum(p => p.Length);
        sb.Append(ci, $"Parameters: {total:N0} ({trainable:N0} trainable, {total - trainable:N0} frozen), {total * 4:N0} bytes\n");
        sb.Append(ci, $"Forward FLOPs for input {string.Join(", ", inputs.Select(t => t.Shape.ToString()))}: {rows.Sum(r => r.Flops):N0}\n");
        sb.Append(ci, $"Activation memory ({(IsTrainingPlan ? "training" : "inference")} plan): {Memory.PeakBytes:N0} bytes peak, {Memory.UnsharedBytes:N0} without reuse\n");
        return sb.ToString();
    }
}
