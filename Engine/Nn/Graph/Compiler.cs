// Compiles a module tree: builds the graph (inferring shapes), orders it, decides what backward computes,
// plans memory and binds everything into a CompiledModel.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>Settings of <see cref="Module.Compile(Device, Shape, ILossSpec?, CompileOptions?)"/>.</summary>
public sealed record CompileOptions
{
    /// <summary>Plan the backward pass (default). False gives an inference plan that keeps nothing for backward.</summary>
    public bool Training { get; init; } = true;

    /// <summary>Seed of the parameter initialization (first compile on a device) and of random layers.</summary>
    public int Seed { get; init; }

    /// <summary>Also compute the gradients of the model's inputs (<see cref="CompiledModel.InputGrad"/>).</summary>
    public bool InputGradients { get; init; }

    /// <summary>Backward adds into the parameter gradients instead of overwriting them (gradient accumulation).</summary>
    public bool AccumulateGradients { get; init; }

    /// <summary>Which output the loss applies to.</summary>
    public int LossOutput { get; init; }

    /// <summary>
    /// Let buffers whose lifetimes do not overlap share memory (default). False gives every buffer its own memory:
    /// a debugging aid, since a layer that reads a tensor it did not declare (<see cref="LayerPlan.KeepInput"/>)
    /// computes differently with and without sharing.
    /// </summary>
    public bool ShareMemory { get; init; } = true;

    /// <summary>
    /// A model-wide initialization rule applied at the model's first compile on a device (later compiles share the
    /// parameters and ignore it): e.g. <c>Init.Rule(weights: Init.KaimingNormal("relu"), biases: Init.Zeros())</c> or
    /// <c>Init.ByActivation()</c>. Layers given their own rule keep it. Null: every layer's default (PyTorch's).
    /// </summary>
    public InitRule? Init { get; init; }

    /// <summary>
    /// Forward mode: the plan carries a tangent beside every value, and each forward pass also runs every layer's tangent
    /// rule, so <see cref="CompiledModel.OutputTangent"/> is the directional derivative (Jacobian-vector product) of the
    /// outputs along <see cref="CompiledModel.InputTangent"/> (and <see cref="ParameterTangents"/>). Takes no loss.
    /// </summary>
    public bool Tangents { get; init; }

    /// <summary>
    /// Fold a ReLU into the batch norm before it when it is that batch norm's only reader (default): one node writes
    /// relu(bn(x)) and takes the gradient through relu' in its own sweeps, and the ReLU becomes a view. The numbers
    /// are those of the two nodes apart; false runs them apart (for comparison). Never in forward-mode plans.
    /// </summary>
    public bool FoldActivations { get; init; } = true;

    /// <summary>With <see cref="Tangents"/>: the parameters have tangents too (<see cref="ParameterSet.Tangents"/>, zero until written).</summary>
    public bool ParameterTangents { get; init; }
}

/// <summary>The order of the nodes and what the backward pass computes.</summary>
internal sealed class Schedule
{
    public required GraphNode[] Forward { get; init; }

    public required GraphNode[] Backward { get; init; }

    /// <summary>Forward step of each node (by node id).</summary>
    public required int[] FStep { get; init; }

    /// <summary>Backward step of each node (by node id), -1 when the node runs no backward.</summary>
    public required int[] BStep { get; init; }

    /// <summary>Whether each value (by id) gets a gradient tensor.</summary>
    public required bool[] HasGrad { get; init; }

    /// <summary>Per node and input: whether backward computes that input's gradient.</summary>
    public required bool[][] InputNeedsGrad { get; init; }

    /// <summary>Per node: whether backward computes its parameters' gradients.</summary>
    public required bool[] ParamsNeedGrad { get; init; }

    public int End => Forward.Length + Backward.Length;
}

/// <summary>The compilation pipeline.</summary>
internal static class Compiler
{
    public static CompiledModel Compile(Module root, Device device, IReadOnlyList<Shape> inputShapes, ILossSpec? loss, CompileOptions o)
    {
        if (inputShapes.Count == 0)
        {
            throw new ArgumentException("A model needs at least one input shape.", nameof(inputShapes));
        }

        var walk = root.Walk().ToList();
        var paths = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, m) in walk)
        {
            paths[m] = path;
        }

        // 1. Build the graph; every node's shapes are inferred as it is added.
        var b = new GraphBuilder(paths);
        var inputs = inputShapes.Select((s, i) => b.AddInput(s ?? throw new ArgumentNullException(nameof(inputShapes)), inputShapes.Count == 1 ? "input" : $"input{i}")).ToArray();
        var outputs = root.Build(b, inputs);
        if (outputs.Length == 0)
        {
            throw new InvalidOperationException("The model has no outputs.");
        }

        GraphValue? lossValue = null, target = null;
        if (o.ParameterTangents && !o.Tangents)
        {
            throw new ArgumentException("CompileOptions.ParameterTangents needs Tangents = true (a forward-mode plan).", nameof(o));
        }

        if (loss is not null && o.Tangents)
        {
            throw new ArgumentException($"A forward-mode plan (CompileOptions.Tangents) takes no loss, but {loss.Describe()} was given; compile without one.", nameof(loss));
        }

        if (loss is not null)
        {
            if (o.LossOutput < 0 || o.LossOutput >= outputs.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(o), o.LossOutput, $"LossOutput must name one of the model's {outputs.Length} outputs.");
            }

            var pred = outputs[o.LossOutput];
            Shape tshape;
            try
            {
                tshape = loss.TargetShape(pred.Shape);
            }
            catch (ArgumentException ex)
            {
                throw new ShapeMismatchException("loss", loss.Describe(), [pred.Shape], ex.Message, ex);
            }

            target = b.AddInput(tshape, "target");
            lossValue = b.AddNode(new LossLayer(loss), [pred, target], string.Empty)[0];
        }

        // 2. Parameters on the device (created at the first compile, if they fit), and each node's view of them.
        long stateBytes = MemoryCheck.StateBytes(root, device, walk, o.Training);
        MemoryCheck.Ensure(root, device, stateBytes, "parameters, their gradients and buffers");
        var state = ModelState.Ensure(root, device, walk, o.Seed, o.Init, o.Init is null ? null : NextLayers(b));
        foreach (var (path, m) in walk)
        {
            string prefix = path.Length == 0 ? string.Empty : path + ".";
            foreach (var p in m.ParameterSpecs)
            {
                state.Parameters![prefix + p.Name].RequiresGrad = !m.IsFrozen;
            }
        }

        // 3. Order and backward analysis.
        var schedule = Analyze(b, outputs, lossValue, target, o, paths, state);

        // 4. Memory.
        var plans = new LayerPlan[b.Nodes.Count];
        var (foldsRelu, reluFolded) = ReluFolding.Find(b, outputs, o);
        foreach (var n in b.Nodes)
        {
            if (o.Tangents && !n.Layer.HasTangent)
            {
                throw new InvalidOperationException($"Layer '{n.Name}' ({n.Layer.Describe()}) has no tangent rule, so it cannot be in a forward-mode plan (CompileOptions.Tangents).");
            }

            plans[n.Id] = new LayerPlan(n.Inputs.Select(v => v.Shape).ToArray(), n.Outputs.Select(v => v.Shape).ToArray(), o.Training,
                schedule.BStep[n.Id] >= 0, schedule.InputNeedsGrad[n.Id], schedule.ParamsNeedGrad[n.Id], o.Tangents, o.ParameterTangents && state.Parameters is not null)
            {
                FoldsRelu = foldsRelu[n.Id],
                ReluFoldedIntoInput = reluFolded[n.Id],
            };
            n.Layer.Plan(plans[n.Id]);
        }

        var memory = MemoryPlanner.Plan(b, schedule, plans, outputs, lossValue, target, o);
        MemoryCheck.Ensure(root, device, memory.ArenaElements * sizeof(float), "activations, gradients and workspaces of the memory plan");
        var tangents = o.Tangents ? TangentPlanner.Plan(b, schedule, plans, outputs, o) : null;
        return new CompiledModel(device, root, state, b, schedule, plans, memory, inputs, outputs, target, lossValue, paths, o, tangents);
    }

    /// <summary>For each layer used once whose single output feeds exactly one node: that node's layer (for <see cref="InitRule"/>s).</summary>
    private static Func<Module, Layer?> NextLayers(GraphBuilder b)
    {
        var next = new Dictionary<Module, Layer?>(ReferenceEqualityComparer.Instance);
        foreach (var n in b.Nodes)
        {
            var consumer = n.Outputs.Length == 1 && n.Outputs[0].Consumers.Count == 1 ? n.Outputs[0].Consumers[0].Node.Layer : null;
            next[n.Layer] = next.ContainsKey(n.Layer) ? null : consumer;
        }

        return m => next.GetValueOrDefault(m);
    }

    /// <summary>Topological order (Kahn, ties broken by creation order) of the nodes.</summary>
    public static GraphNode[] TopologicalOrder(IReadOnlyList<GraphNode> nodes)
    {
        var pending = new int[nodes.Count];
        var ready = new PriorityQueue<GraphNode, int>();
        foreach (var n in nodes)
        {
            pending[n.Id] = n.Inputs.Count(v => v.Producer is not null);
            if (pending[n.Id] == 0)
            {
                ready.Enqueue(n, n.Id);
            }
        }

        var order = new List<GraphNode>(nodes.Count);
        while (ready.TryDequeue(out var n, out _))
        {
            order.Add(n);
            foreach (var v in n.Outputs)
            {
                foreach (var (c, _) in v.Consumers)
                {
                    if (--pending[c.Id] == 0)
                    {
                        ready.Enqueue(c, c.Id);
                    }
                }
            }
        }

        if (order.Count != nodes.Count)
        {
            var stuck = nodes.Where(n => pending[n.Id] > 0).Select(n => n.Name);
            throw new InvalidOperationException($"The graph has a cycle through {string.Join(", ", stuck)}.");
        }

        return order.ToArray();
    }

    private static Schedule Analyze(GraphBuilder b, GraphValue[] outputs, GraphValue? lossValue, GraphValue? target, CompileOptions o, Dictionary<Module, string> paths, ModelState state)
    {
        var order = TopologicalOrder(b.Nodes);
        int nv = b.Values.Count, nn = b.Nodes.Count;
        var requires = new bool[nv];
        var trainable = new bool[nn];
        foreach (var v in b.Inputs)
        {
            requires[v.Id] = o.InputGradients && !ReferenceEquals(v, target);
        }

        foreach (var n in order)
        {
            string prefix = paths.TryGetValue(n.Layer, out var p) && p.Length > 0 ? p + "." : string.Empty;
            trainable[n.Id] = n.Layer.ParameterSpecs.Any(s => state.Parameters![prefix + s.Name].RequiresGrad);
            bool r = trainable[n.Id] || n.Inputs.Any(v => requires[v.Id]);
            foreach (var v in n.Outputs)
            {
                requires[v.Id] = r;
            }
        }

        // Values the differentiated quantity depends on: the loss, or (without one) every output.
        var contributes = new bool[nv];
        if (o.Training)
        {
            foreach (var v in lossValue is null ? outputs : [lossValue])
            {
                contributes[v.Id] = true;
            }

            for (int k = order.Length - 1; k >= 0; k--)
            {
                var n = order[k];
                if (n.Outputs.Any(v => contributes[v.Id]))
                {
                    foreach (var v in n.Inputs)
                    {
                        contributes[v.Id] = true;
                    }
                }
            }
        }

        var fstep = new int[nn];
        for (int k = 0; k < order.Length; k++)
        {
            fstep[order[k].Id] = k;
        }

        var bstep = Enumerable.Repeat(-1, nn).ToArray();
        var backward = new List<GraphNode>();
        var inputNeeds = new bool[nn][];
        var paramsNeed = new bool[nn];
        for (int k = order.Length - 1; k >= 0; k--)
        {
            var n = order[k];
            bool runs = o.Training && n.Outputs.Any(v => contributes[v.Id] && requires[v.Id]);
            inputNeeds[n.Id] = n.Inputs.Select(v => runs && requires[v.Id]).ToArray();
            paramsNeed[n.Id] = runs && trainable[n.Id];
            if (!runs)
            {
                continue;
            }

            if (!n.Layer.HasBackward)
            {
                throw new InvalidOperationException(
                    $"Layer '{n.Name}' ({n.Layer.Describe()}) has no backward but is on the training path; freeze the layers below it, " +
                    "or compile with Training = false.");
            }

            bstep[n.Id] = order.Length + backward.Count;
            backward.Add(n);
        }

        var hasGrad = new bool[nv];
        foreach (var v in b.Values)
        {
            hasGrad[v.Id] = o.Training && requires[v.Id] && contributes[v.Id] && !ReferenceEquals(v, lossValue);
        }

        return new Schedule
        {
            Forward = order,
            Backward = backward.ToArray(),
            FStep = fstep,
            BStep = bstep,
            HasGrad = hasGrad,
            InputNeedsGrad = inputNeeds,
            ParamsNeedGrad = paramsNeed,
        };
    }
}
