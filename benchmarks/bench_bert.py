"""NotesBertForMaskedLM vs transformers' BertForMaskedLM: training and forward tokens/s, peak memory.

Same config, seed, batch and attention implementation; both models hold identical weights. Runs interleaved in
one process (see bench_utils). Defaults: CPU, bert-mini, sequence 128, batch 8. On a GPU it runs bert-base in bf16
at sequence 128 and 512.

    python benchmarks/bench_bert.py
    python benchmarks/bench_bert.py --preset bert-small --seq_len 256 --batch_size 4
"""

import torch
import transformers
from bench_utils import common_arguments, compare, report

import hf_nlpnotes
from hf_nlpnotes import NotesBertForMaskedLM


def make_batch(config, batch_size, seq_len, device):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, config.vocab_size, (batch_size, seq_len), generator=generator)
    labels = torch.full_like(ids, -100)
    masked = torch.rand(ids.shape, generator=generator) < 0.15
    labels[masked] = ids[masked]
    mask = torch.ones_like(ids)
    return {k: v.to(device) for k, v in dict(input_ids=ids, attention_mask=mask, labels=labels).items()}


def train_step(model, optimizer, batch, dtype):
    with torch.autocast(device_type=batch["input_ids"].device.type, dtype=dtype, enabled=dtype != torch.float32):
        loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@torch.no_grad()
def forward(model, batch, dtype):
    with torch.autocast(device_type=batch["input_ids"].device.type, dtype=dtype, enabled=dtype != torch.float32):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])


def run(args, preset, seq_len, dtype):
    config = hf_nlpnotes.load_preset(
        preset, vocab_size=args.vocab_size, max_position_embeddings=max(512, seq_len), attn_implementation=args.attn
    )
    torch.manual_seed(0)
    ours = NotesBertForMaskedLM(config).to(args.device)
    reference = transformers.BertForMaskedLM(transformers.BertConfig(**config.to_diff_dict() | {"model_type": "bert"}))
    reference.config._attn_implementation = args.attn
    reference.load_state_dict(ours.state_dict())  # identical weights: the same work, bit for bit
    reference.to(args.device)
    batch = make_batch(config, args.batch_size, seq_len, args.device)
    tokens = args.batch_size * seq_len
    models = {"hf_nlpnotes": ours, "transformers": reference}

    optimizers = {name: torch.optim.AdamW(model.parameters(), lr=1e-4) for name, model in models.items()}
    for model in models.values():
        model.train()
    training = compare(
        {name: (lambda m=model, o=optimizers[name]: train_step(m, o, batch, dtype)) for name, model in models.items()},
        tokens, "tokens", args.device, args.repeats, args.warmup,
    )
    report(f"training step (fwd+bwd+AdamW) {preset} seq {seq_len} batch {args.batch_size} {args.attn} {dtype}",
           training, "tokens", "transformers")

    for model in models.values():
        model.eval()
    inference = compare(
        {name: (lambda m=model: forward(m, batch, dtype)) for name, model in models.items()},
        tokens, "tokens", args.device, args.repeats, args.warmup,
    )
    report(f"forward only {preset} seq {seq_len} batch {args.batch_size} {args.attn} {dtype}", inference, "tokens", "transformers")


def main():
    parser = common_arguments(__doc__)
    parser.add_argument("--preset", default=None, help="default: bert-mini on CPU, bert-base on GPU")
    parser.add_argument("--seq_len", type=int, nargs="+", default=None, help="default: 128 on CPU, 128 512 on GPU")
    parser.add_argument("--batch_size", type=int, default=None, help="default: 8 on CPU, 32 on GPU")
    parser.add_argument("--vocab_size", type=int, default=30522)
    parser.add_argument("--attn", default="sdpa", choices=["eager", "sdpa"])
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16"], help="default: float32 on CPU, bfloat16 on GPU")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    on_gpu = torch.device(args.device).type == "cuda"
    preset = args.preset or ("bert-base" if on_gpu else "bert-mini")
    lengths = args.seq_len or ([128, 512] if on_gpu else [128])
    args.batch_size = args.batch_size or (32 if on_gpu else 8)
    dtype = getattr(torch, args.dtype or ("bfloat16" if on_gpu else "float32"))
    print(f"device {args.device}, torch {torch.__version__}, transformers {transformers.__version__}, threads {torch.get_num_threads()}")
    for seq_len in lengths:
        run(args, preset, seq_len, dtype)


if __name__ == "__main__":
    main()
