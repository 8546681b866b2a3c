"""GPU tokens/s: the bundled model's shape and a 1B-class model, bf16, random weights (no hub on the GPU host)."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = {
    # SmolLM2-135M-Instruct's config (the bundled model), weights random: tokens/s depends on shape, not values.
    "smollm2-135m": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, head_dim=64, tie_word_embeddings=True),
    # Llama-3.2-1B's shape: the 1B class.
    "llama-1b-class": dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                           num_attention_heads=32, num_key_value_heads=8, head_dim=64, tie_word_embeddings=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--device", default="cuda", help="cpu only to smoke-test this script")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    import torch
    import transformers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, LogitsProcessorList

    device = args.device
    gpu = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"# GPU generation; {gpu} ; python {platform.python_version()} torch "
          f"{torch.__version__} transformers {transformers.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    try:
        from aigc_workflow.generation.sampling import make_seeded_sampler
    except ImportError as error:  # the engine's sampler needs numpy only; say so if even that is missing
        make_seeded_sampler = None
        print(f"engine sampler not importable: {error}")
    for name in args.shapes.split(","):
        shape = SHAPES[name]
        config = LlamaConfig(**shape, max_position_embeddings=4096, rope_theta=100000.0, bos_token_id=1,
                             eos_token_id=2, pad_token_id=2)
        torch.manual_seed(0)
        with torch.device(device):
            model = LlamaForCausalLM(config).to(torch.bfloat16).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        for size in (int(s) for s in args.batch_sizes.split(",")):
            ids = torch.randint(3, config.vocab_size, (size, args.prompt_tokens), device=device)
            mask = torch.ones_like(ids)
            # min_new_tokens = max_new_tokens: every row makes the full count, so tokens/s is comparable.
            gen = GenerationConfig(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, do_sample=False,
                                   eos_token_id=2, pad_token_id=2)
            variants = [("greedy", None)]
            if make_seeded_sampler is not None:
                variants.append(("engine sampler", lambda n=size: LogitsProcessorList(
                    [make_seeded_sampler(list(range(n)), 0.8, 0.95)])))
            for label, processors in variants:
                with torch.inference_mode():
                    model.generate(input_ids=ids, attention_mask=mask, generation_config=gen,
                                   logits_processor=processors() if processors else None)  # warm-up
                    _sync(device)
                    started = time.perf_counter()
                    out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen,
                                         logits_processor=processors() if processors else None)
                    _sync(device)
                seconds = time.perf_counter() - started
                tokens = (out.shape[1] - args.prompt_tokens) * size
                print(f"{name} ({params:.0f}M params, bf16) batch {size:>3} {label:<14}: {tokens / seconds:8.0f} tok/s "
                      f"({seconds:.2f} s for {tokens} tokens)", flush=True)
        del model
        if device == "cuda":
            torch.cuda.empty_cache()


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
