import Linalg

/// Recursive, named traversal of a module tree: every method walks `children` depth-first in their
/// declared order, so the orders (and hence checkpoint keys and the flattened parameter vector of the
/// natural-gradient methods) are fixed by the model's definition.
///
/// Paths join local names with dots: a `Sequential` child is `"layers.<i>"`, so the first weight of an
/// MLP is `"layers.0.weight"` and a parameter deep in a tree reads like
/// `"encoder.layers.3.attention.query.weight"`. A parameter reachable along several paths (weights
/// shared by two modules) is listed once, under the first path.
extension Module {
    /// This module and every descendant with its path (`""` for `self`, then e.g. `"layers.0"`), pre-order;
    /// an instance reachable twice is listed once.
    public func namedModules() -> [(path: String, module: any Module<Scalar>)] {
        var seen: Set<ObjectIdentifier> = []
        var out: [(path: String, module: any Module<Scalar>)] = []
        func visit(_ m: any Module<Scalar>, _ path: String) {
            guard seen.insert(ObjectIdentifier(m)).inserted else { return }
            out.append((path, m))
            for (name, child) in m.children { visit(child, path.isEmpty ? name : "\(path).\(name)") }
        }
        visit(self, "")
        return out
    }

    /// The modules without children (the ones that compute), with their paths, in order.
    public func leafModules() -> [(path: String, module: any Module<Scalar>)] {
        namedModules().filter { $0.module.children.isEmpty }
    }

    /// Every parameter of the tree with its full path (`"layers.0.weight"`), depth-first in declaration
    /// order, each distinct `Parameter` once (under its first path), frozen ones included.
    public func parametersWithPaths() -> [(path: String, parameter: Parameter<Scalar>)] {
        var seen: Set<ObjectIdentifier> = []
        var out: [(path: String, parameter: Parameter<Scalar>)] = []
        for (path, module) in namedModules() {
            for (name, p) in module.localParameters where seen.insert(ObjectIdentifier(p)).inserted {
                out.append((path.isEmpty ? name : "\(path).\(name)", p))
            }
        }
        return out
    }

    /// Every distinct parameter of the tree, in `parametersWithPaths` order (frozen ones included).
    public var allParameters: [Parameter<Scalar>] { parametersWithPaths().map(\.parameter) }

    /// The parameters an optimiser updates: `allParameters` without the frozen ones.
    public var trainableParameters: [Parameter<Scalar>] { allParameters.filter(\.isTrainable) }

    /// Total number of scalars in `allParameters`.
    public var parameterCount: Int { allParameters.reduce(0) { $0 + $1.count } }

    /// Sets every parameter's `name` to its full path. Containers call it when they are built, so the
    /// outermost container's paths win; call it yourself on a root that is not a built-in container.
    public func assignParameterPaths() {
        for (path, p) in parametersWithPaths() { p.name = path }
    }

    /// Freezes every parameter whose full path satisfies `predicate` (all of them by default): a frozen
    /// parameter has no gradient buffer, gets no optimiser state and no curvature, and keeps its value.
    /// Paths are relative to `self`.
    public func freeze(where predicate: (String) -> Bool = { _ in true }) {
        for (path, p) in parametersWithPaths() where predicate(path) { p.freeze() }
    }

    /// Makes every parameter whose path satisfies `predicate` (all by default) trainable again, with a
    /// zero gradient.
    public func unfreeze(where predicate: (String) -> Bool = { _ in true }) {
        for (path, p) in parametersWithPaths() where predicate(path) { p.unfreeze() }
    }

    /// Sets the gradient of every trainable parameter to zero: once per training step, before the
    /// backward pass (gradients accumulate, see `Module`).
    public func zeroGradients() {
        for p in allParameters where p.isTrainable { p.zeroGradient() }
    }

    /// The parameter whose full path (relative to `self`) is `path`, if any.
    public func parameter(atPath path: String) -> Parameter<Scalar>? {
        parametersWithPaths().first { $0.path == path }?.parameter
    }

    /// Traps when an instance appears twice among the tree's modules: a module keeps the cache of one
    /// application, so reusing an instance would silently corrupt its backward pass.
    func requireDistinctInstances(_ container: String) {
        var seen: Set<ObjectIdentifier> = []
        func visit(_ m: any Module<Scalar>, _ path: String) {
            precondition(seen.insert(ObjectIdentifier(m)).inserted,
                         "\(container): module \(m.summary) at \(path.isEmpty ? "the root" : path) is used twice; a module caches "
                         + "one application — build a second instance sharing its parameters (e.g. Linear(sharingParametersWith:))")
            for (name, child) in m.children { visit(child, path.isEmpty ? name : "\(path).\(name)") }
        }
        visit(self, "")
    }
}
