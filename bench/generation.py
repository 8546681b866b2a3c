"""Text generation tokens/s: the engine's generator vs transformers' pipeline vs llama-cpp-python, one run."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, footer, header, table

TOPICS = [
    "why cycling to work is good for you", "green tea and its history", "a solar backpack for students",
    "tips for working from home", "baking sourdough bread", "the history of jazz", "saving money on groceries",
    "learning a new language as an adult", "caring for houseplants", "how bees make honey",
    "planning a weekend hiking trip", "the basics of composting", "why sleep matters", "starting to run",
    "writing a good cover letter", "the first moon landing",
]


def briefs(n: int) -> list:
    from aigc_workflow.briefs import BriefSpec

    return [BriefSpec(ref=f"b{i}", topic=TOPICS[i % len(TOPICS)] + (f" (part {i // len(TOPICS)})" if i >= len(TOPICS)
                      else ""), audience="general readers", format="paragraph of about 200 words") for i in range(n)]


def settings(args: argparse.Namespace, batch_size: int, temperature: float | None = None,  # type: ignore[no-untyped-def]
             reuse_prefix: bool = True):
    from aigc_workflow.settings import Settings

    return Settings(device="cpu", generation={
        "max_new_tokens": args.new_tokens, "temperature": args.temperature if temperature is None else temperature,
        "top_p": args.top_p, "batch_size": batch_size, "reuse_prompt_prefix": reuse_prefix})


def engine_run(generator, prompts: list[str], seeds: list[int]) -> int:  # type: ignore[no-untyped-def]
    return sum(len(ids) for ids in generator.generate_ids(prompts, seeds))


def _engine_rate(generator, generation, prompts: list[str], seeds: list[int]) -> float:  # type: ignore[no-untyped-def]
    generator.generation = generation
    started = time.perf_counter()
    tokens = engine_run(generator, prompts, seeds)
    return tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--sequential-prompts", type=int, default=4,
                        help="prompts the one-at-a-time peers run per row (their rate does not depend on the count)")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads for the engine and pipeline")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds per row; the best of each is kept")
    args = parser.parse_args()
    header("text generation (bundled SmolLM2-135M-Instruct)",
           ["torch", "transformers", "llama_cpp_python", "numpy"])
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from aigc_workflow.generation.text import TextGenerator
    from aigc_workflow.models.bundled import smollm2_gguf
    from aigc_workflow.models.convert import ensure_bundled_text_model

    print(f"torch threads: {torch.get_num_threads()}; new tokens per prompt: {args.new_tokens}; "
          f"T={args.temperature} top_p={args.top_p}")
    base = settings(args, 1)
    started = time.perf_counter()
    folder = ensure_bundled_text_model(base)
    print(f"safetensors cache ready in {time.perf_counter() - started:.2f} s ({folder})")
    generator = TextGenerator(base)
    generator.load()
    print(f"cache load, in process (TextGenerator.load): {generator.load_seconds:.2f} s")
    fresh = _fresh_process_load()
    print(f"cache load, fresh process: {fresh}")

    sizes = [int(s) for s in args.batch_sizes.split(",")]
    all_briefs = briefs(max(sizes))
    from aigc_workflow.generation.base import GenerationRequest

    prompts = [generator.prompt_for(GenerationRequest(b, 0, 1)) for b in all_briefs]
    seeds = list(range(1, len(prompts) + 1))
    peers = None if args.skip_peers else Peers(folder, smollm2_gguf(), args)
    engine_run(generator, prompts[:2], seeds[:2])  # warm-up: first-call allocations and lazy inits
    rows = []
    for size in sizes:
        sampled = settings(args, size).generation
        greedy = settings(args, size, temperature=0.0).generation
        no_prefix = settings(args, size, reuse_prefix=False).generation
        columns = {
            "engine tok/s": lambda n=size: _engine_rate(generator, sampled, prompts[:n], seeds[:n]),
            "engine greedy tok/s": lambda n=size: _engine_rate(generator, greedy, prompts[:n], seeds[:n]),
            "engine, prefix not reused tok/s": lambda n=size: _engine_rate(generator, no_prefix, prompts[:n],
                                                                          seeds[:n]),
        }
        if peers is not None:
            count = min(size, args.sequential_prompts)
            columns["pipeline 1-at-a-time tok/s"] = lambda c=count: peers.pipeline(prompts[:c])
            if peers.llm is not None:
                columns["llama.cpp 1-at-a-time tok/s"] = lambda c=count: peers.llama(prompts[:c])
        # Columns alternate, `--repeat` rounds, best rate kept: a burst of load from other jobs then
        # costs one sample of one column, not the whole comparison.
        row: dict = {"batch": size}
        for _ in range(args.repeat):
            for name, measure in columns.items():
                row[name] = max(row.get(name, 0.0), measure())
        if peers is not None:
            row["engine / pipeline"] = row["engine tok/s"] / row["pipeline 1-at-a-time tok/s"]
            if peers.llm is not None:
                row["engine / llama.cpp"] = row["engine tok/s"] / row["llama.cpp 1-at-a-time tok/s"]
        rows.append(row)
        print(f"  batch {size} done: {row}", flush=True)
    table(rows, ["batch", "engine tok/s", "engine greedy tok/s", "engine, prefix not reused tok/s",
                 "pipeline 1-at-a-time tok/s",
                 "llama.cpp 1-at-a-time tok/s", "engine / pipeline", "engine / llama.cpp"])
    if peers is not None and peers.llama_note:
        print(f"note: {peers.llama_note}")
    footer()


class Peers:
    """The reference implementations, loaded once: transformers' pipeline and llama-cpp-python."""

    def __init__(self, folder: Path, gguf: Path, args: argparse.Namespace) -> None:
        import torch
        from transformers import pipeline

        self.args = args
        self.pipe = pipeline("text-generation", model=str(folder), dtype=torch.float32, device="cpu")
        self.llm = None
        self.llama_note = ""
        try:
            from llama_cpp import Llama

            self.llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=os.cpu_count(), verbose=False, seed=1)
        except ImportError:
            self.llama_note = "llama-cpp-python is not installed (pip install llama-cpp-python); column skipped"

    def pipeline(self, prompts: list[str]) -> float:
        tokens, seconds = 0, 0.0
        for prompt in prompts:
            started = time.perf_counter()
            out = self.pipe(prompt, max_new_tokens=self.args.new_tokens, do_sample=True,
                            temperature=self.args.temperature, top_p=self.args.top_p, return_full_text=False)
            seconds += time.perf_counter() - started
            tokens += len(self.pipe.tokenizer(out[0]["generated_text"], add_special_tokens=False)["input_ids"])
        return tokens / seconds

    def llama(self, prompts: list[str]) -> float | None:
        if self.llm is None:
            return None
        tokens, seconds = 0, 0.0
        for prompt in prompts:
            started = time.perf_counter()
            out = self.llm(prompt, max_tokens=self.args.new_tokens, temperature=self.args.temperature,
                           top_p=self.args.top_p, top_k=0)
            seconds += time.perf_counter() - started
            tokens += out["usage"]["completion_tokens"]
        return tokens / seconds


def _fresh_process_load() -> str:
    """TextGenerator.load() in a new process, with the library imports it triggers timed apart.

    The first model load in a process pays for importing transformers' modeling code, and the Llama config
    pulls in torchvision through transformers' image utilities: a once-per-process library cost, shown apart
    from reading the safetensors cache into a model.
    """
    code = (
        "import time; t0=time.perf_counter(); import torch, transformers; t1=time.perf_counter();"
        "import transformers.models.llama.modeling_llama, transformers.models.llama.configuration_llama;"
        "from transformers import AutoModelForCausalLM, AutoTokenizer; t2=time.perf_counter();"
        "from aigc_workflow.generation.text import TextGenerator; from aigc_workflow.settings import Settings;"
        "g=TextGenerator(Settings(device='cpu')); g.load(); t3=time.perf_counter();"
        "print(f'import torch+transformers {t1-t0:.2f} s; transformers modeling imports (torchvision, scipy) "
        "{t2-t1:.2f} s; TextGenerator.load() {g.load_seconds:.2f} s; total {t3-t0:.2f} s')"
    )
    with tempfile.TemporaryDirectory():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=os.environ)
    return out.stdout.strip() or out.stderr.strip()[-300:]


if __name__ == "__main__":
    main()
