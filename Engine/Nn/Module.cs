// Modules: the user-facing model definition (layers and containers) with named parameters and buffers.
using System;
using System.Collections.Generic;
using System.Linq;

namespace Engine.Nn;

/// <summary>A parameter declared by a module, under its local name (<c>weight</c>, <c>bias</c>).</summary>
/// <param name="Name">Local name; the state-dict name is the module's path, a dot, and this.</param>
/// <param name="Shape">Shape.</param>
/// <param name="Role">Role, for optimizer parameter groups.</param>
/// <param name="Init">How it is initialized (the layer's rule; a model-wide <see cref="InitRule"/> may replace it unless <see cref="ExplicitInit"/>).</param>
public sealed record ParamSpec(string Name, Shape Shape, ParameterRole Role, ParamInit Init)
{
    /// <summary>Whether the rule was chosen for this layer by its user (a model-wide rule then leaves it alone).</summary>
    public bool ExplicitInit { get; init; }
}

/// <summary>A non-trainable state tensor declared by a module (batch norm's <c>running_mean</c>).</summary>
/// <param name="Name">Local name.</param>
/// <param name="Shape">Shape.</param>
/// <param name="InitialValue">Every element's starting value.</param>
public sealed record BufferSpec(string Name, Shape Shape, float InitialValue);

/// <summary>
/// A piece of a model, as in PyTorch's <c>nn.Module</c>: a leaf <see cref="Layer"/> or a container
/// (<see cref="Sequential"/>, <see cref="GraphModule"/>, <see cref="Residual"/>). Modules only describe a model;
/// <see cref="Compile(Device, Shape, ILossSpec?, CompileOptions?)"/> infers shapes, plans memory and returns a
/// <see cref="CompiledModel"/> that runs it. The parameters live on the device with the root module that was
/// compiled (<see cref="ParametersOn"/>), so several compiled plans (training and inference, other batch sizes)
/// share them; dispose the root module to free them.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Module Module)> children = new();
    private readonly List<ParamSpec> parameters = new();
    private readonly List<BufferSpec> buffers = new();
    private readonly Dictionary<Device, ModelState> states = new();
    private Dictionary<string, float[]>? initialValues;

    /// <summary>Child modules in registration order, with their local names.</summary>
    public IReadOnlyList<(string Name, Module Module)> Children => children;

    /// <summary>This module's own parameters (not its children's).</summary>
    public IReadOnlyList<ParamSpec> ParameterSpecs => parameters;

    /// <summary>This module's own buffers.</summary>
    public IReadOnlyList<BufferSpec> BufferSpecs => buffers;

    /// <summary>Whether this module's own parameters are frozen (no gradients; optimizers skip them).</summary>
    public bool IsFrozen { get; private set; }

    /// <summary>A short description for errors and <see cref="CompiledModel.Summary"/>, e.g. <c>Linear(784, 10)</c>.</summary>
    public virtual string Describe() => GetType().Name;

    /// <summary>Number of parameter elements of this module and its children (shared modules counted once).</summary>
    public long ParameterCount() => Walk().Sum(m => m.Module.parameters.Sum(p => p.Shape.Length));

    /// <summary>
    /// Starting values for parameters and buffers of this module's tree, by state-dict name relative to this module
    /// (<c>0.weight</c>, <c>conv.running_mean</c>), used instead of their initialization rule when the root module is
    /// first compiled on a device: how a model read from another format (an ONNX file) brings its weights. Each call
    /// adds to (or replaces entries of) the values given before.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty or a value is null. Names that match no parameter or buffer,
    /// and values whose length differs from the tensor's, fail the compile with a message naming them.</exception>
    public void SetInitialValues(IEnumerable<KeyValuePair<string, float[]>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var (name, data) in values)
        {
            if (string.IsNullOrEmpty(name) || data is null)
            {
                throw new ArgumentException($"{Describe()}: initial value '{name}' needs a name and data.", nameof(values));
            }

            (initialValues ??= new Dictionary<string, float[]>(StringComparer.Ordinal))[name] = data;
        }
    }

    /// <summary>Freezes the parameters of this module and every descendant (transfer learning). Compile afterwards.</summary>
    public Module Freeze() => SetFrozen(true);

    /// <summary>Unfreezes this module and every descendant (fine-tuning). Compile afterwards.</summary>
    public Module Unfreeze() => SetFrozen(false);

    /// <summary>
    /// Compiles the model for one input of <paramref name="inputShape"/> (batch first): infers every shape, orders
    /// the nodes, plans memory and binds the parameters (created and initialized on the first compile on
    /// <paramref name="device"/>). With a <paramref name="loss"/>, the compiled model computes the loss of its
    /// first output against a target; with <see cref="CompileOptions.Training"/> (the default) it also plans the
    /// backward pass.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A layer does not accept its input; the message names it and the shapes.</exception>
    /// <exception cref="InvalidOperationException">A node on the training path has no backward.</exception>
    public CompiledModel Compile(Device device, Shape inputShape, ILossSpec? loss = null, CompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        return Compile(device, [inputShape], loss, options);
    }

    /// <summary>Compiles a model with several inputs; see <see cref="Compile(Device, Shape, ILossSpec?, CompileOptions?)"/>.</summary>
    public CompiledModel Compile(Device device, IReadOnlyList<Shape> inputShapes, ILossSpec? loss = null, CompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(inputShapes);
        return Compiler.Compile(this, device, inputShapes, loss, options ?? new CompileOptions());
    }

    /// <summary>The parameters of this (root) module on <paramref name="device"/>, or null before its first compile there.</summary>
    public ParameterSet? ParametersOn(Device device) => states.TryGetValue(device, out var s) ? s.Parameters : null;

    /// <summary>The buffers (running statistics) of this (root) module on <paramref name="device"/>, or null.</summary>
    public BufferSet? BuffersOn(Device device) => states.TryGetValue(device, out var s) ? s.Buffers : null;

    /// <summary>Frees the parameters and buffers this root module holds on every device.</summary>
    public void Dispose()
    {
        foreach (var s in states.Values)
        {
            s.Dispose();
        }

        states.Clear();
        GC.SuppressFinalize(this);
    }

    /// <summary>Registers a child module under <paramref name="name"/> (its state-dict prefix).</summary>
    /// <exception cref="ArgumentException">The name is empty, contains a dot, or is taken.</exception>
    protected internal T AddChild<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        ValidateLocalName(name);
        if (children.Any(c => c.Name == name))
        {
            throw new ArgumentException($"{Describe()}: a child named '{name}' already exists.", nameof(name));
        }

        if (ReferenceEquals(module, this) || module.Walk().Any(w => ReferenceEquals(w.Module, this)))
        {
            throw new ArgumentException($"{Describe()}: adding {module.Describe()} as '{name}' would make a cycle.", nameof(module));
        }

        children.Add((name, module));
        return module;
    }

    /// <summary>
    /// Puts <paramref name="module"/> in place of the child named <paramref name="name"/> (same name, same position) and
    /// returns the old child (transfer learning: a new head). Its parameters are new, so compile a model that was not
    /// compiled before on the device (a root that was refuses a changed parameter list).
    /// </summary>
    /// <exception cref="ArgumentException">No child has that name, or the replacement would make a cycle.</exception>
    protected internal Module ReplaceChild(string name, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        int i = children.FindIndex(c => c.Name == name);
        if (i < 0)
        {
            throw new ArgumentException($"{Describe()}: no child named '{name}' (children: {string.Join(", ", children.Select(c => c.Name))}).", nameof(name));
        }

        if (ReferenceEquals(module, this) || module.Walk().Any(w => ReferenceEquals(w.Module, this)))
        {
            throw new ArgumentException($"{Describe()}: putting {module.Describe()} at '{name}' would make a cycle.", nameof(module));
        }

        var old = children[i].Module;
        children[i] = (name, module);
        return old;
    }

    /// <summary>
    /// Declares a parameter of this module, filled by <paramref name="init"/> at the first compile; with
    /// <paramref name="explicitInit"/> (the user chose the rule) a model-wide <see cref="CompileOptions.Init"/> leaves it alone.
    /// </summary>
    /// <exception cref="ArgumentException">The name is invalid, or <paramref name="init"/> needs fans and the shape has fewer than 2 dimensions.</exception>
    protected void AddParameter(string name, Shape shape, ParameterRole role, ParamInit init, bool explicitInit = false)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ValidateLocalName(name);
        Init.CheckFits(init, shape, name);
        parameters.Add(new ParamSpec(name, shape, role, init) { ExplicitInit = explicitInit });
    }

    /// <summary>Declares a buffer (non-trainable state saved in the state dict) of this module.</summary>
    protected void AddBuffer(string name, Shape shape, float initialValue)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ValidateLocalName(name);
        buffers.Add(new BufferSpec(name, shape, initialValue));
    }

    /// <summary>
    /// Adds this module's nodes to a graph under construction: consumes <paramref name="inputs"/> and returns its
    /// outputs. Containers call their children's <c>Build</c>; a <see cref="Layer"/> adds one node.
    /// </summary>
    protected internal abstract GraphValue[] Build(GraphBuilder builder, GraphValue[] inputs);

    /// <summary>Every module of the tree depth-first with its dotted path, each instance once (first path wins).</summary>
    internal IEnumerable<(string Path, Module Module)> Walk()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(string, Module)>();
        stack.Push((string.Empty, this));
        while (stack.Count > 0)
        {
            var (path, m) = stack.Pop();
            if (!seen.Add(m))
            {
                continue;
            }

            yield return (path, m);
            for (int i = m.children.Count - 1; i >= 0; i--)
            {
                var (name, child) = m.children[i];
                stack.Push((path.Length == 0 ? name : path + "." + name, child));
            }
        }
    }

    /// <summary>The values given to <see cref="SetInitialValues"/>, or null.</summary>
    internal IReadOnlyDictionary<string, float[]>? InitialValues => initialValues;

    internal ModelState? StateOn(Device device) => states.TryGetValue(device, out var s) ? s : null;

    internal void SetState(Device device, ModelState state) => states[device] = state;

    private Module SetFrozen(bool frozen)
    {
        foreach (var (_, m) in Walk())
        {
            m.IsFrozen = frozen;
        }

        return this;
    }

    private void ValidateLocalName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{Describe()}: '{name}' is not a valid name (non-empty, no dots).", nameof(name));
        }
    }
}
