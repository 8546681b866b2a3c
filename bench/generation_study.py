"""Which transformers/torch levers pay off for batched CPU generation: cache kind, torch.compile, threads."""

from __future__ import annotations

import argparse
import time

from _common import footer, header, table
from generation import briefs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--variants", default="dynamic,static,static+compile")
    args = parser.parse_args()
    header(f"generation levers (bundled SmolLM2-135M, batch {args.batch}, {args.new_tokens} new tokens, greedy)",
           ["torch", "transformers"])
    import torch
    from transformers import GenerationConfig

    from aigc_workflow.generation.base import GenerationRequest
    from aigc_workflow.generation.text import TextGenerator
    from aigc_workflow.settings import Settings

    generator = TextGenerator(Settings(device="cpu"))
    generator.load()
    model, tokenizer = generator._model, generator._tokenizer
    prompts = [generator.prompt_for(GenerationRequest(b, 0, 1)) for b in briefs(args.batch)]
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    base = dict(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, do_sample=False,
                eos_token_id=2, pad_token_id=tokenizer.pad_token_id)
    configs = {
        "dynamic": GenerationConfig(**base),
        "static": GenerationConfig(**base, cache_implementation="static", disable_compile=True),
        "static+compile": GenerationConfig(**base, cache_implementation="static", compile_config=_compile_all()),
    }
    rows = []
    for name in args.variants.split(","):
        config = configs[name]
        with torch.inference_mode():
            started = time.perf_counter()
            model.generate(**batch, generation_config=config)  # first call: allocation, compilation
            first = time.perf_counter() - started
            started = time.perf_counter()
            out = model.generate(**batch, generation_config=config)
            second = time.perf_counter() - started
        tokens = (out.shape[1] - batch["input_ids"].shape[1]) * args.batch
        rows.append({"variant": name, "first call s": first, "steady call s": second,
                     "steady tok/s": tokens / second, "first-call tok/s": tokens / first})
        print(f"  {name} done", flush=True)
    table(rows, ["variant", "first call s", "steady call s", "steady tok/s", "first-call tok/s"])
    footer()


def _compile_all():  # type: ignore[no-untyped-def]
    from transformers import CompileConfig

    config = CompileConfig()
    config._compile_all_devices = True  # transformers only auto-compiles on accelerators unless told
    return config


if __name__ == "__main__":
    main()
