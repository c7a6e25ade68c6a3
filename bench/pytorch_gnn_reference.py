#!/usr/bin/env python3
"""PyTorch reference for `thermograd bench train-step --model gnn`: the same GIN, batch, optimiser and
thread count, timed like bench/pytorch_reference.py (eager, CPU, float32, plain torch with `index_add`).

The model is Thermograd's registered `gnn` (docs/gnn.md#gin) layer for layer: 3 GIN layers of width 64,
  atoms: sum of one embedding per categorical feature (9 features, OGB's dimensions)
  per layer: m = ReLU(h[src] + bond_embedding(edge)) for both directions of every bond,
             z = (1 + eps) h + index_add(dst, m),  h' = Linear(64, 128) - LayerNorm - ReLU - Linear(128, 64) (z),
             h = LayerNorm(h') followed by ReLU except after the last layer
  mean over each graph's nodes (index_add), Linear(64, 1); binary cross-entropy with logits.
The batch is the formula batch of `BatchedGraph.benchmark` (graph g: 18 + g mod 16 atoms in a chain with ring
closures (v, v + 5) for v = 0, 6, 12, ...; node u's feature j is (u (2j + 1) + j) mod f_j, edge k's is
(k (j + 1)) mod e_j), labels alternate 0, 1. Optimiser: Adam(lr=1e-3) / AdamW / SGD(lr=0.01, momentum 0.9).

Usage: python3 bench/pytorch_gnn_reference.py --batch 256 --optimizer adam --threads 2
"""
import json

import torch
from torch import nn

from pytorch_reference import measure, parse_step_arguments, step_arguments  # shared options, timing loop and JSON fields

ATOM_DIMS = [119, 5, 12, 12, 10, 6, 6, 2, 2]  # OGB's get_atom_feature_dims()
BOND_DIMS = [5, 6, 2]  # OGB's get_bond_feature_dims()


def benchmark_batch(graphs: int):
    """The batch of `BatchedGraph.benchmark`: (node categories, message sources, targets, edge categories, graph of each node)."""
    first, second, graph_of = [], [], []
    base = 0
    for g in range(graphs):
        n = 18 + g % 16
        first += [base + v for v in range(n - 1)] + [base + v for v in range(0, n - 5, 6)]
        second += [base + v + 1 for v in range(n - 1)] + [base + v + 5 for v in range(0, n - 5, 6)]
        graph_of += [g] * n
        base += n
    nodes = torch.tensor([[(u * (2 * j + 1) + j) % d for j, d in enumerate(ATOM_DIMS)] for u in range(base)])
    edges = torch.tensor([[(k * (j + 1)) % d for j, d in enumerate(BOND_DIMS)] for k in range(len(first))])
    src = torch.tensor(first + second)
    dst = torch.tensor(second + first)
    return nodes, src, dst, edges, torch.tensor(graph_of)


class CategoricalEmbedding(nn.Module):
    def __init__(self, dims, width: int) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(d, width) for d in dims)
        for t in self.tables:
            nn.init.xavier_uniform_(t.weight)

    def forward(self, categories: torch.Tensor) -> torch.Tensor:
        out = self.tables[0](categories[:, 0])
        for j in range(1, len(self.tables)):
            out = out + self.tables[j](categories[:, j])
        return out


class GINConvolution(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.bond = CategoricalEmbedding(BOND_DIMS, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.LayerNorm(2 * width), nn.ReLU(), nn.Linear(2 * width, width))
        self.eps = nn.Parameter(torch.zeros(1))

    def forward(self, h, src, dst, edges):
        e = self.bond(edges)
        messages = torch.relu(h[src] + torch.cat([e, e]))
        return self.mlp(((1 + self.eps) * h).index_add(0, dst, messages))


class GIN(nn.Module):
    def __init__(self, graph, graphs: int, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.nodes, self.src, self.dst, self.edges, self.graph_of = graph
        self.graphs = graphs
        counts = torch.zeros(graphs).index_add(0, self.graph_of, torch.ones(len(self.graph_of)))
        self.inverse_counts = (1 / counts).unsqueeze(1)
        self.atom = CategoricalEmbedding(ATOM_DIMS, width)
        self.convolutions = nn.ModuleList(GINConvolution(width) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(layers))
        self.head = nn.Linear(width, 1)

    def forward(self, _: torch.Tensor) -> torch.Tensor:
        h = self.atom(self.nodes)
        for l, (conv, norm) in enumerate(zip(self.convolutions, self.norms)):
            h = norm(conv(h, self.src, self.dst, self.edges))
            if l + 1 < len(self.convolutions):
                h = torch.relu(h)
        pooled = torch.zeros(self.graphs, h.shape[1]).index_add(0, self.graph_of, h) * self.inverse_counts
        return self.head(pooled)


def main() -> None:
    p = step_arguments(__doc__)
    a = parse_step_arguments(p)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = GIN(benchmark_batch(a.batch), a.batch).float()
    labels = torch.tensor([float(g % 2) for g in range(a.batch)]).unsqueeze(1)
    print(json.dumps(measure(net, torch.zeros(a.batch, 1), a.optimizer, a.seconds, "gnn",
                             loss_fn=nn.BCEWithLogitsLoss(), targets=labels), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
