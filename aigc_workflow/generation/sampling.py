"""Seeded per-row token sampling for batched generation: a draft's tokens never depend on its batch-mates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

SAMPLER = "per-row-counter-gumbel-top-p/v2"
GREEDY = "greedy"

# Candidates looked at before the full sort: the top-p nucleus of an instruct model at T <= 1 almost always
# fits, and rows whose nucleus does not are redone exactly over the whole vocabulary.
_NUCLEUS_CANDIDATES = 256
_GOLDEN = 0x9E3779B97F4A7C15


def _splitmix64(x: Any) -> Any:
    """SplitMix64's finaliser on a uint64 numpy array: a well-mixed hash, identical on every machine."""
    import numpy as np

    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def gumbel_noise(seeds: Any, step: int, token_ids: Any) -> Any:
    """Gumbel(0, 1) noise for (row seed, step, token id), float64: a pure function of those three numbers.

    `seeds` has one uint64 per row, `token_ids` shape (rows, k). Counter-based rather than a stateful
    generator, so noise is drawn only for the tokens that can be picked (the top-p nucleus) instead of one
    value per vocabulary entry per row per step, and a row's noise never depends on its batch-mates.
    """
    import numpy as np

    with np.errstate(over="ignore"):  # uint64 arithmetic wraps on purpose
        row_key = _splitmix64(seeds.astype(np.uint64) + np.uint64(_GOLDEN) * np.uint64(step + 1))
        bits = _splitmix64(row_key[:, None] ^ (token_ids.astype(np.uint64) * np.uint64(_GOLDEN)))
    # 53 random bits -> a uniform strictly inside (0, 1), so both logs are finite.
    uniform = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / (1 << 53))
    return -np.log(-np.log(uniform))


def seeded_pick(scores: torch.Tensor, seeds: Any, step: int, temperature: float, top_p: float) -> list[int]:
    """Each row's token: argmax(scores / T + Gumbel) over that row's top-p nucleus of softmax(scores / T)."""
    import numpy as np
    import torch

    rows, vocab = scores.shape
    scores = scores.float()
    # Only a normaliser over the whole vocabulary, not a softmax: probabilities are needed for the head alone.
    log_norm = torch.logsumexp(scores / temperature, dim=-1, keepdim=True)
    k = vocab if top_p >= 1.0 else min(_NUCLEUS_CANDIDATES, vocab)
    picks: list[int] = [0] * rows
    todo = list(range(rows))
    while todo:
        # Dividing by T > 0 keeps the order, so the head of the raw scores is the head of the probabilities.
        head, head_ids = torch.topk(scores[todo], k, dim=-1, sorted=True)
        head = head / temperature
        head_probs = torch.exp(head - log_norm[todo])
        # Keep the smallest head whose mass reaches top_p; the most likely token is always kept.
        keep = (head_probs.cumsum(dim=-1) - head_probs) < top_p
        keep[:, 0] = True
        # A nucleus that fills all k candidates may go on beyond them: redo that row over more candidates.
        spill = (keep[:, -1] & (k < vocab)).tolist()
        ids = head_ids.cpu().numpy()
        noise = gumbel_noise(seeds[todo], step, ids)
        perturbed = np.where(keep.cpu().numpy(), head.double().cpu().numpy() + noise, -np.inf)
        best = perturbed.argmax(axis=1)
        again = []
        for position, row in enumerate(todo):
            if spill[position]:
                again.append(row)
            else:
                picks[row] = int(ids[position, best[position]])
        todo, k = again, min(vocab, k * 8)
    return picks


def make_seeded_sampler(seeds: Sequence[int], temperature: float, top_p: float) -> Any:
    """A LogitsProcessor that picks each row's next token with noise that is a function of that row's seed.

    Why not `do_sample=True`: transformers samples the whole batch with one global RNG, so a draft would
    depend on which other requests share its batch and in which order. Here the noise for a token is a hash
    of (row seed, step, token id) (`gumbel_noise`), so a row's stream never depends on batch-mates, and it is
    computed only for the row's top-p nucleus: v1 drew one Exp(1) value per vocabulary entry per row per step
    from per-row CPU generators and sorted the whole vocabulary, which cost more than the model's own
    forward pass at batch 32 on a 2-core CPU (bench/generation.py). The pick is the Gumbel-max trick,
    argmax(logits / T + Gumbel), an exact sample from softmax(logits / T) restricted to the top-p set; the
    chosen token is kept at 0 and every other logit set to -inf, so `generate(do_sample=False)`'s argmax
    takes it. Gumbel-max rather than an inverse-CDF lookup because batching and padding change the logits
    in the last bits: an inverse CDF over thousands of small probabilities flips on such noise, while
    Gumbel-max flips only when the top two perturbed scores tie (measured on an H200, random SmolLM2-shaped
    weights, fp32, T=0.2: inverse CDF kept 8/16 drafts identical alone vs batched, Gumbel-max 16/16). The
    hash is integer arithmetic on the CPU, so the noise is the same on every device. Limit: bf16 on CUDA is
    not bitwise deterministic even for the same batch, so there drafts are only mostly batch-independent;
    the stored-draft cache key, not regeneration, is what guarantees reuse.
    """
    import numpy as np
    import torch
    from transformers import LogitsProcessor

    class SeededGumbelTopPSampler(LogitsProcessor):
        def __init__(self) -> None:
            self.seeds = np.array([int(seed) & 0xFFFFFFFFFFFFFFFF for seed in seeds], dtype=np.uint64)
            self.step = 0

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            picks = seeded_pick(scores, self.seeds, self.step, temperature, top_p)
            self.step += 1
            out = torch.full_like(scores, float("-inf"))
            chosen = torch.tensor(picks, device=scores.device).unsqueeze(1)
            out.scatter_(1, chosen, 0.0)
            return out

    return SeededGumbelTopPSampler()
