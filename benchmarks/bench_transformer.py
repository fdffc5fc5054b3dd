"""NotesTransformerForConditionalGeneration against transformers' MarianMTModel with the same dimensions.

Three measurements, each interleaved (ours, Marian, ours, ...) in one process, median of repeats:
- training: forward + backward + Adam step on a fixed batch, in (source + target) tokens per second;
- greedy generation and beam-4 generation (with the KV cache), in generated tokens per second. Both models are
  forced to generate exactly `--new_tokens` tokens (min = max), so they do the same amount of work.
  A third row, `notes_transformer (plain weights)`, is ours with `prepack_weights=False`: on the CPU our decoder
  runs from oneDNN-prepacked fp32 weights during generate() (see `PrepackableLinear`), and that row shows how much
  of the difference comes from it. Its peak memory includes the packed copies (about the decoder's weights).

Targets on CPU (see issue 4): training >= 1.0x, greedy >= 1.2x. Runs on a GPU when one is present (--device).

    python benchmarks/bench_transformer.py --threads 2
"""

import sys
from pathlib import Path

import torch
from transformers import MarianConfig, MarianMTModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_utils import common_arguments, compare, report  # noqa: E402

import hf_nlpnotes  # noqa: E402
from hf_nlpnotes import NotesTransformerConfig, NotesTransformerForConditionalGeneration  # noqa: E402

PAD, BOS, EOS = 0, 1, 2


def build_models(args):
    dims = dict(
        vocab_size=args.vocab_size,
        d_model=args.d_model,
        encoder_layers=args.layers,
        decoder_layers=args.layers,
        encoder_attention_heads=args.heads,
        decoder_attention_heads=args.heads,
        encoder_ffn_dim=args.ffn_dim,
        decoder_ffn_dim=args.ffn_dim,
        activation_function="relu",
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        max_position_embeddings=512,
        scale_embedding=True,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
        decoder_start_token_id=BOS,
    )
    ours = NotesTransformerForConditionalGeneration(NotesTransformerConfig(label_smoothing=0.0, **dims))
    marian = MarianMTModel(MarianConfig(forced_eos_token_id=None, **dims))
    for model in (ours, marian):
        # same generation settings for both: nothing beyond what the benchmark asks for
        model.generation_config.forced_eos_token_id = None
        model.generation_config.bad_words_ids = None
        model.generation_config.max_length = None
    return ours.to(args.device), marian.to(args.device)


def training_step(model, optimizer, batch):
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()

    return step


def generation(model, batch, new_tokens, num_beams, **extra):
    def run():
        with torch.inference_mode():
            model.generate(
                **batch,
                **extra,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                num_beams=num_beams,
                do_sample=False,
                length_penalty=1.0,
                early_stopping=False,
            )

    return run


def main():
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--vocab_size", type=int, default=8000)
    parser.add_argument("--d_model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ffn_dim", type=int, default=1024)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--source_length", type=int, default=32)
    parser.add_argument("--target_length", type=int, default=32)
    parser.add_argument("--gen_batch_size", type=int, default=8)
    parser.add_argument("--new_tokens", type=int, default=32)
    parser.add_argument("--skip", nargs="*", default=[], choices=["train", "greedy", "beam"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours, marian = build_models(args)
    models = {"notes_transformer": ours, "marian": marian}
    print(
        f"device {args.device}, threads {torch.get_num_threads()}, d_model {args.d_model}, {args.layers}+{args.layers} "
        f"layers, {args.heads} heads, ffn {args.ffn_dim}, vocab {args.vocab_size}, "
        f"{sum(p.numel() for p in ours.parameters()) / 1e6:.1f}M / "
        f"{sum(p.numel() for p in marian.parameters()) / 1e6:.1f}M parameters"
    )

    def batch(batch_size, source_length, target_length=None):
        ids = torch.randint(4, args.vocab_size, (batch_size, source_length), device=args.device)
        mask = torch.ones_like(ids)
        mask[0, source_length // 2 :] = 0  # one padded source, as in any real batch
        result = {"input_ids": ids, "attention_mask": mask}
        if target_length is not None:
            labels = torch.randint(4, args.vocab_size, (batch_size, target_length), device=args.device)
            labels[0, target_length // 2 :] = -100
            result["labels"] = labels
        return result

    if "train" not in args.skip:
        train_batch = batch(args.batch_size, args.source_length, args.target_length)
        steps = {}
        for name, model in models.items():
            model.train()
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
            steps[name] = training_step(model, optimizer, train_batch)
        tokens = args.batch_size * (args.source_length + args.target_length)
        results = compare(steps, tokens, "tok", args.device, args.repeats, args.warmup)
        report("training (forward + backward + Adam step)", results, "tok", "marian")

    for model in models.values():
        model.eval()
    gen_batch = batch(args.gen_batch_size, args.source_length)
    for mode, beams in (("greedy", 1), ("beam", 4)):
        if mode in args.skip:
            continue
        runs = {name: generation(model, gen_batch, args.new_tokens, beams) for name, model in models.items()}
        plain = generation(ours, gen_batch, args.new_tokens, beams, prepack_weights=False)
        runs["notes_transformer (plain weights)"] = plain
        tokens = args.gen_batch_size * args.new_tokens
        results = compare(runs, tokens, "tok", args.device, args.repeats, args.warmup)
        report(f"{mode} generation ({beams} beam{'s' if beams > 1 else ''}, KV cache)", results, "tok", "marian")


if __name__ == "__main__":
    main()
