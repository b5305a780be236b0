"""The HCLT probabilistic circuit in torch: exact log-likelihood, EM, sampling, export to integers.

Why torch here and integers in the codec: training needs fast batched float arithmetic; coding
needs probabilities every machine reproduces bit for bit, so :meth:`HCLT.quantized` turns the
learned distributions into the uint16 tables the C++ kernel (csrc/hclt.hpp) computes with.

Everything is indexed by *position* in the coding order (a pre-order of the Chow-Liu tree, see
:mod:`lcodec.codecs.pc.structure`): hidden variable ``h_t`` per position with ``K`` states,
``p(h_0)``, ``p(h_t | h_parent(t))`` and ``p(x_t | h_t)`` with ``V`` values. Emission tables may be
shared between positions (``emit_of``), which keeps 8-bit models small.
"""
from __future__ import annotations

import numpy as np
import torch

from lcodec.codecs.pc.structure import depths

PARAM_SCALE = 1 << 16  # the kernel's fixed-point unit for probabilities


class HCLT(torch.nn.Module):
    """Log-probabilities ``log_prior`` [K], ``log_trans`` [D, K, K] (parent state, child state;
    row 0 unused) and ``log_emit`` [B, V, K] (value, state), with ``parent`` int [D] (positions)
    and ``emit_of`` int [D] in [0, B)."""

    def __init__(self, parent: np.ndarray, states: int, values: int, emit_of: np.ndarray | None = None,
                 seed: int = 0) -> None:
        super().__init__()
        d = len(parent)
        emit_of = np.arange(d) if emit_of is None else np.asarray(emit_of)
        gen = torch.Generator().manual_seed(seed)

        def random_log(*shape: int, dim: int) -> torch.Tensor:
            return torch.log_softmax(torch.randn(*shape, generator=gen, dtype=torch.float32) * 0.5, dim=dim)

        self.register_buffer("parent", torch.as_tensor(np.asarray(parent), dtype=torch.long))
        self.register_buffer("emit_of", torch.as_tensor(emit_of, dtype=torch.long))
        self.log_prior = torch.nn.Parameter(random_log(states, dim=0))
        self.log_trans = torch.nn.Parameter(random_log(d, states, states, dim=2))
        self.log_emit = torch.nn.Parameter(random_log(int(emit_of.max()) + 1, values, states, dim=1))
        depth = depths(np.asarray(parent))
        # Positions grouped by depth, deepest first: one batched step per level of the tree.
        self._levels = [torch.as_tensor(np.flatnonzero(depth == level)) for level in range(depth.max(), 0, -1)]

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) in nats: x long [N, D] in coding order -> [N] (one upward pass)."""
        n, d = x.shape
        emit = self.log_emit[self.emit_of]  # [D, V, K]
        inside = emit[torch.arange(d), x]  # [N, D, K]: log p(x_t | h_t), then times the children's messages
        for level in self._levels:
            below = inside[:, level]  # [N, L, K]
            message = torch.logsumexp(self.log_trans[level].unsqueeze(0) + below.unsqueeze(2), dim=3)  # [N, L, K]
            inside = inside.index_add(1, self.parent[level], message)
        return torch.logsumexp(self.log_prior + inside[:, 0], dim=1)

    @torch.no_grad()
    def em_step(self, x: torch.Tensor, pseudocount: float, step: float = 1.0) -> float:
        """One (mini-batch) EM step on x long [N, D]; returns the mean log-likelihood before it.

        The gradient of the total log-likelihood with respect to each log-parameter is that
        parameter's expected count (its circuit flow), so autograd gives the E step. ``step`` < 1
        blends the new estimate into the old (stochastic EM for mini-batches).
        """
        params = (self.log_prior, self.log_trans, self.log_emit)
        with torch.enable_grad():
            for p in params:
                p.grad = None
            ll = self.log_likelihood(x)
            ll.sum().backward()
        for p, dim in zip(params, (0, 2, 1)):
            counts = p.grad + pseudocount
            new = counts / counts.sum(dim=dim, keepdim=True)
            p.copy_(torch.log((1 - step) * p.exp() + step * new) if step < 1 else torch.log(new))
            p.grad = None
        return float(ll.mean())

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n samples long [n, D] in coding order (ancestral: parents precede children)."""
        gen = torch.Generator().manual_seed(seed)
        d = len(self.parent)
        h = torch.empty(n, d, dtype=torch.long)
        x = torch.empty(n, d, dtype=torch.long)
        h[:, 0] = torch.multinomial(self.log_prior.exp().expand(n, -1), 1, generator=gen)[:, 0]
        for t in range(d):
            if t > 0:
                rows = self.log_trans[t, h[:, self.parent[t]]].exp()  # [n, K]
                h[:, t] = torch.multinomial(rows, 1, generator=gen)[:, 0]
            probs = self.log_emit[self.emit_of[t]].exp().T[h[:, t]]  # [n, V]
            x[:, t] = torch.multinomial(probs, 1, generator=gen)[:, 0]
        return x

    @torch.no_grad()
    def quantized(self) -> dict[str, np.ndarray]:
        """The kernel's tables: probabilities times 2^16, rounded, clipped to [1, 65535], uint16."""

        def q(logp: torch.Tensor) -> np.ndarray:
            return np.clip(np.rint(logp.exp().numpy() * PARAM_SCALE), 1, PARAM_SCALE - 1).astype(np.uint16)

        trans = q(self.log_trans)
        trans[0] = 1  # the root has no parent: the row is never read
        return {"prior": q(self.log_prior), "trans": trans, "emit": q(self.log_emit),
                "parent": self.parent.numpy().astype(np.int32), "emit_of": self.emit_of.numpy().astype(np.int32)}
