"""ELMo: the exact and the fast LSTM path against the original algorithm as AllenNLP runs it.

The reference, written here: an LSTM cell with projection and clipping stepped in a Python loop, one direction and one
layer after the other, the input projection computed inside the loop at every step (AllenNLP's
`LstmCellWithProjection` inside `ElmoLstm`). All candidates share the same weights, the same character CNN and the
same softmax, and the reference's output is checked against the exact path before timing.

Figures (tokens/s, interleaved in one process, median of repeats, ratio against the reference):
- biLM training step: token embeddings → LSTM stacks → top layer → loss, backward, optimiser step (the LSTM alone);
- full training step: characters → `NotesElmoForBidirectionalLM` with a full softmax over `--vocab_size` words;
- biLM embedding: token embeddings → LSTM layer representations, no gradient (the LSTM alone);
- embedding: characters → all layer representations, no gradient (what feature extraction does; the character CNN,
  the same in every candidate, takes most of the time on a CPU).

Defaults: an elmo-small-sized model (1024 cell, 128 projection, 2048 CNN filters), batch 16 × 20 words, CPU.
On a GPU the same runs there (the loop is bound by kernel launches; cuDNN runs the fast path).

    python benchmarks/bench_elmo.py
    python benchmarks/bench_elmo.py --preset elmo-original --batch_size 32 --words 20 --device cuda
"""

import copy

import torch
from bench_utils import common_arguments, compare, report

import hf_nlpnotes
from hf_nlpnotes import NotesElmoForBidirectionalLM


def reference_direction(lstm, inputs, lengths, go_forward: bool, cell_clip, proj_clip):
    """One direction of one layer, AllenNLP style: a Python loop over time, the input projection inside it."""
    batch_size, time, _ = inputs.shape
    hidden = inputs.new_zeros(batch_size, lstm.proj_size)
    memory = inputs.new_zeros(batch_size, lstm.hidden_size)
    outputs = [None] * time
    for t in range(time) if go_forward else reversed(range(time)):
        gates = (
            inputs[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + hidden @ lstm.weight_hh_l0.T + lstm.bias_hh_l0
        )
        input_gate, forget_gate, new_memory, output_gate = gates.chunk(4, dim=1)
        next_memory = torch.sigmoid(forget_gate) * memory + torch.sigmoid(input_gate) * torch.tanh(new_memory)
        if cell_clip is not None:
            next_memory = next_memory.clamp(-cell_clip, cell_clip)
        next_hidden = (torch.sigmoid(output_gate) * torch.tanh(next_memory)) @ lstm.weight_hr_l0.T
        if proj_clip is not None:
            next_hidden = next_hidden.clamp(-proj_clip, proj_clip)
        real = (t < lengths).unsqueeze(1)  # right padding: the backward direction starts at each row's last word
        memory = torch.where(real, next_memory, memory)
        hidden = torch.where(real, next_hidden, hidden)
        outputs[t] = next_hidden * real
    return torch.stack(outputs, dim=1)


def reference_bilm(model, token_embedding, mask):
    """The top layer [batch, words, 2 × projection] of the biLM, computed the AllenNLP way."""
    config = model.config
    lengths = mask.sum(1)
    directions = []
    for name, go_forward in (("forward_lstm", True), ("backward_lstm", False)):
        hidden = token_embedding
        for index, layer in enumerate(model.elmo.bilm.layers):
            output = reference_direction(getattr(layer, name), hidden, lengths, go_forward, config.cell_clip, config.proj_clip)
            hidden = output + hidden if index > 0 and config.use_skip_connections else output
        directions.append(hidden)
    return torch.cat(directions, dim=-1) * mask.unsqueeze(-1)


def make_batch(config, batch_size, words, device):
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, 262, (batch_size, words, config.max_characters_per_token), generator=generator)
    lengths = torch.randint(words // 2, words + 1, (batch_size,), generator=generator)
    lengths[0] = words
    mask = torch.arange(words).unsqueeze(0) < lengths.unsqueeze(1)
    input_ids[~mask] = 0
    labels = torch.randint(0, config.vocab_size, (batch_size, words), generator=generator).masked_fill(~mask, -100)
    batch = dict(input_ids=input_ids, attention_mask=mask.long(), labels=labels)
    return {key: value.to(device) for key, value in batch.items()}


def main():
    parser = common_arguments(__doc__)
    parser.add_argument("--preset", default="elmo-small")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--vocab_size", type=int, default=5000, help="softmax size of the full training step")
    parser.add_argument("--skip_full", action="store_true", help="only the biLM step and the embedding")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    config = hf_nlpnotes.load_preset(args.preset, vocab_size=args.vocab_size, dropout=0.0)
    torch.manual_seed(0)
    models = {}
    for implementation in ("exact", "fast", "reference"):
        model_config = copy.deepcopy(config)  # each model its own config: the path is read from it
        model_config.lstm_implementation = "fast" if implementation == "fast" else "exact"
        model = NotesElmoForBidirectionalLM(model_config).to(device)
        if models:
            model.load_state_dict(models["exact"].state_dict())
        models[implementation] = model.train()
    batch = make_batch(config, args.batch_size, args.words, device)
    mask = batch["attention_mask"].bool()
    tokens = int(mask.sum())
    print(f"{args.preset}: cell {config.lstm_cell_size}, projection {config.projection_dim}, "
          f"batch {args.batch_size} x {args.words} words ({tokens} real), device {device}, threads {torch.get_num_threads()}")

    with torch.no_grad():  # the reference computes what the exact path computes
        embedding = models["exact"].elmo.char_encoder(batch["input_ids"]) * mask.unsqueeze(-1)
        expected = models["exact"].elmo(batch["input_ids"], batch["attention_mask"]).last_hidden_state
        reference = reference_bilm(models["reference"], embedding, mask)
        fast = models["fast"].elmo(batch["input_ids"], batch["attention_mask"]).last_hidden_state
    print(f"max |reference - exact| {float((reference - expected).abs().max()):.2e}, "
          f"max |fast - exact| {float((fast - expected).abs().max()):.2e} (fast has no clipping)")

    # biLM training step: the LSTM stacks alone, from fixed token embeddings
    bilm_inputs = embedding.detach()
    optimizers = {name: torch.optim.SGD(model.elmo.bilm.parameters(), lr=1e-6) for name, model in models.items()}

    def bilm_step(name):
        model = models[name]
        if name == "reference":
            top = reference_bilm(model, bilm_inputs, mask)
        else:
            top = torch.cat(model.elmo.bilm(bilm_inputs, mask)[0][-1:], dim=-1)
        top.square().mean().backward()
        optimizers[name].step()
        optimizers[name].zero_grad(set_to_none=True)

    results = compare({name: (lambda n=name: bilm_step(n)) for name in models}, tokens, "tokens", device,
                      repeats=args.repeats, warmup=args.warmup)  # fmt: skip
    report("biLM training step (LSTM stacks, forward + backward + update)", results, "tokens", "reference")

    if not args.skip_full:
        full_optimizers = {name: torch.optim.SGD(model.parameters(), lr=1e-6) for name, model in models.items()}

        def full_step(name):
            model = models[name]
            if name == "reference":
                token_embedding = model.elmo.char_encoder(batch["input_ids"]) * mask.unsqueeze(-1)
                forward_top, backward_top = reference_bilm(model, token_embedding, mask).split(config.projection_dim, -1)
                labels = batch["labels"]
                loss = (
                    model._direction_loss(forward_top[:, :-1], model.softmax(forward_top[:, :-1]), labels[:, 1:])
                    + model._direction_loss(backward_top[:, 1:], model.softmax(backward_top[:, 1:]), labels[:, :-1])
                ) / 2
            else:
                loss = model(**batch).loss
            loss.backward()
            full_optimizers[name].step()
            full_optimizers[name].zero_grad(set_to_none=True)

        results = compare({name: (lambda n=name: full_step(n)) for name in models}, tokens, "tokens", device,
                          repeats=args.repeats, warmup=args.warmup)  # fmt: skip
        report(f"full biLM training step (char CNN + LSTM + softmax over {args.vocab_size} words)", results, "tokens",
               "reference")  # fmt: skip

    @torch.no_grad()
    def embed_bilm(name):
        model = models[name]
        if name == "reference":
            return reference_bilm(model, bilm_inputs, mask)
        return model.elmo.bilm(bilm_inputs, mask)[0]

    for model in models.values():
        model.eval()
    results = compare({name: (lambda n=name: embed_bilm(n)) for name in models}, tokens, "tokens", device,
                      repeats=args.repeats, warmup=args.warmup)  # fmt: skip
    report("biLM embedding (LSTM stacks from token embeddings, no gradient)", results, "tokens", "reference")

    @torch.no_grad()
    def embed(name):
        model = models[name]
        if name == "reference":
            token_embedding = model.elmo.char_encoder(batch["input_ids"]) * mask.unsqueeze(-1)
            return reference_bilm(model, token_embedding, mask)
        return model.elmo(batch["input_ids"], batch["attention_mask"], output_hidden_states=True).hidden_states

    results = compare({name: (lambda n=name: embed(n)) for name in models}, tokens, "tokens", device,
                      repeats=args.repeats, warmup=args.warmup)  # fmt: skip
    report("embedding (characters -> layer representations, no gradient)", results, "tokens", "reference")


if __name__ == "__main__":
    main()
