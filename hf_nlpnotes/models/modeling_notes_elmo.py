"""ELMo (Peters et al., 2018): deep contextualised word representations from a character-based biLM.

Token layer: characters → embedding → one convolution per filter width → max over characters → activation →
concatenation → highway layers → linear projection. biLM: separate forward and backward LSTM stacks with projection,
cell/projection clipping and a residual connection around every layer but the first; layer k of a direction reads
only layer k-1 of the same direction. The layer representations (token layer duplicated to 2 × projection, then one
per LSTM layer, forward ‖ backward) are what the downstream heads mix with a learned `ScalarMix`.

Both LSTM paths read the same parameters, held in `torch.nn.LSTM(proj_size=...)` modules (gate order i, f, g, o;
the original's forget bias +1.0 folded into `bias_ih`):
- "exact": the original numerics, clipping included. The input projection of all time steps is one matrix product
  outside the time loop, the two directions run in the same loop as one batched product per step, and a
  hand-written backward computes the recurrent weights' gradients of all steps as one product
  (benchmarks/bench_elmo.py: about 1.4-1.5x AllenNLP's step-by-step loop for an elmo-small training step on CPU).
- "fast": `torch.nn.LSTM` itself on packed sequences (cuDNN on a GPU), without clipping. Measured on the AllenNLP
  fixture (tests/test_elmo_fixture.py; 30 sentences run statefully as the reference was): the exact path reproduces
  the original top layer to 1.2e-6; the fast path differs from it by max |Δ| 1.32, mean |Δ| 0.014, median |Δ| 2.5e-4
  (mean |value| 0.90), cosine similarity per word >= 0.988 (mean 0.9994), because that small trained model reaches its
  clips (3.0) often. With clipping switched off in both, the two paths agree to 7e-7. Use "fast" to train new models
  (set cell_clip / proj_clip to None so that training and inference agree) or where that distance is acceptable,
  "exact" to reproduce original weights.

The backward direction runs on each row reversed within its own length, so padding never reaches it. State is
explicit: every call starts from zeros unless `initial_states` is given, and `return_final_states=True` returns the
state of every row at its last real word in the structure `initial_states` takes.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_outputs import SequenceClassifierOutput, TokenClassifierOutput
from transformers.utils import ModelOutput, logging
from transformers.utils.generic import can_return_tuple

from .configuration_notes_elmo import NotesElmoConfig
from .modeling_notes_utils import (
    NotesSaveWithCodeMixin,
    check_ids_in_range,
    check_rank,
    check_same_shape,
    register_auto_classes,
    sequence_classification_loss,
    token_classification_loss,
)
from .notes_attention import NotesMultiHeadAttention
from .notes_layers import Highway, ScalarMix

logger = logging.get_logger(__name__)

# (h, c) of one LSTM layer, both directions: h [2, batch, projection_dim], c [2, batch, lstm_cell_size];
# index 0 of the first dimension is the forward direction, 1 the backward one
LayerState = tuple[torch.Tensor, torch.Tensor]


class NotesElmoCharacterEncoder(nn.Module):
    """The context-independent token layer: [batch, words, characters] char ids → [batch, words, projection_dim]."""

    def __init__(self, config: NotesElmoConfig):
        super().__init__()
        # id 0 is a padded word's character: its embedding stays zero, as the converted original's does
        self.char_embedding = nn.Embedding(config.num_characters, config.char_embedding_dim, padding_idx=0)
        self.convolutions = nn.ModuleList(
            nn.Conv1d(config.char_embedding_dim, count, kernel_size=width) for width, count in config.cnn_filters
        )
        self.activation = ACT2FN[config.cnn_activation]
        # the original's highway layers always use relu, whatever the CNN activation
        self.highway = Highway(config.num_cnn_filters, config.num_highway_layers, activation="relu")
        self.projection = nn.Linear(config.num_cnn_filters, config.projection_dim)
        # bilm-tf's initialisation, read by `_init_weights` (which only sees leaf modules): weights scaled by
        # 1/sqrt(width), highway gate bias -2 so that the layers start by carrying their input through
        for linear in (*self.highway.transforms, *self.highway.gates, self.projection):
            linear.elmo_init_std = 1.0 / math.sqrt(config.num_cnn_filters)
            linear.elmo_init_bias = -2.0 if any(linear is gate for gate in self.highway.gates) else 0.0

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        batch_size, num_words, num_chars = char_ids.shape
        characters = self.char_embedding(char_ids.reshape(-1, num_chars)).transpose(1, 2)  # [words, dim, chars]
        # max over character positions first, activation after, as bilm-tf does
        features = [self.activation(conv(characters).max(dim=-1).values) for conv in self.convolutions]
        token_embedding = self.projection(self.highway(torch.cat(features, dim=-1)))
        return token_embedding.view(batch_size, num_words, -1)


def _reverse_within_lengths(sequences: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverses the first `lengths[b]` steps of every row of [batch, time, ...]; padding stays where it is.

    Its own inverse, so the same call takes the backward direction into its reading order and back.
    """
    time = torch.arange(sequences.size(1), device=sequences.device).unsqueeze(0)
    index = torch.where(time < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - time, time)
    index = index.view(*index.shape, *([1] * (sequences.dim() - 2))).expand_as(sequences)
    return sequences.gather(1, index)


def _clip(tensor: torch.Tensor, clip: float | None) -> torch.Tensor:
    return tensor if clip is None else tensor.clamp(-clip, clip)


def _passes_clip(tensor: torch.Tensor, clip: float | None):
    """Where the gradient passes a clamp (as torch.clamp's backward): 1 inside [-clip, clip], 0 outside."""
    return None if clip is None else ((tensor >= -clip) & (tensor <= clip)).to(tensor.dtype)


class _ClippedLstmRecurrence(torch.autograd.Function):
    """The time loop of the exact path, both directions batched: LSTM with projection, cell and projection clipping,
    rows past their length keeping their state.

    The backward is written out so that the weight gradients are one matrix product over all time steps, instead of
    one small product (and one accumulation) per step as autograd would do; `tests/test_elmo_model.py` checks it
    against autograd through a naive step-by-step LSTM.

    projected_inputs: [2, batch, time, 4 * cell] (x W_ih + b, gate order i, f, g, o); mask: [batch, time] bool;
    hidden: [2, batch, projection]; memory: [2, batch, cell]; weight_hh_t: [2, projection, 4 * cell];
    weight_hr_t: [2, cell, projection]. Returns outputs [2, batch, time, projection] and the final (hidden, memory).
    """

    @staticmethod
    def forward(ctx, projected_inputs, mask, hidden, memory, weight_hh_t, weight_hr_t, cell_clip, proj_clip):
        save = ctx.needs_input_grad[0] or any(ctx.needs_input_grad[2:6])
        real_steps = mask.unsqueeze(0).unsqueeze(-1).to(hidden.dtype).unbind(2)  # time × [1, batch, 1]
        outputs, saved = [], []
        for projected_input, real in zip(projected_inputs.unbind(2), real_steps):
            gates = torch.baddbmm(projected_input, hidden, weight_hh_t)
            input_gate, forget_gate, new_memory, output_gate = gates.chunk(4, dim=-1)
            input_gate, forget_gate, output_gate = input_gate.sigmoid(), forget_gate.sigmoid(), output_gate.sigmoid()
            new_memory = new_memory.tanh()
            unclipped_memory = forget_gate * memory + input_gate * new_memory
            next_memory = _clip(unclipped_memory, cell_clip)
            tanh_memory = next_memory.tanh()
            projected = output_gate * tanh_memory
            unclipped_hidden = torch.bmm(projected, weight_hr_t)
            next_hidden = _clip(unclipped_hidden, proj_clip)
            if save:
                saved.append((input_gate, forget_gate, new_memory, output_gate, memory, tanh_memory, hidden,
                              projected, _passes_clip(unclipped_memory, cell_clip),
                              _passes_clip(unclipped_hidden, proj_clip)))  # fmt: skip
            # rows whose sentence has ended keep their state: the final state is the one at the last real word
            hidden = torch.lerp(hidden, next_hidden, real)
            memory = torch.lerp(memory, next_memory, real)
            outputs.append(next_hidden * real)
        if save:
            ctx.saved_steps = saved
            ctx.real_steps = real_steps
            ctx.save_for_backward(weight_hh_t, weight_hr_t)
            # under autocast the loop ran in a lower precision than some inputs: gradients go back in each input's
            ctx.input_dtypes = (projected_inputs.dtype, hidden.dtype, memory.dtype, weight_hh_t.dtype, weight_hr_t.dtype)
        return torch.stack(outputs, dim=2), hidden, memory

    @staticmethod
    def backward(ctx, grad_outputs, grad_hidden, grad_memory):
        dtype = ctx.saved_steps[0][0].dtype  # the precision the loop ran in
        weight_hh_t, weight_hr_t = (weight.to(dtype) for weight in ctx.saved_tensors)
        real_steps = [real.to(dtype) for real in ctx.real_steps]
        grad_hidden = grad_hidden.to(dtype) if grad_hidden is not None else None
        grad_memory = grad_memory.to(dtype) if grad_memory is not None else None
        grad_outputs = grad_outputs.to(dtype) if grad_outputs is not None else None
        grad_hidden = torch.zeros_like(ctx.saved_steps[0][6]) if grad_hidden is None else grad_hidden
        grad_memory = torch.zeros_like(ctx.saved_steps[0][4]) if grad_memory is None else grad_memory
        grad_outputs = grad_outputs.unbind(2) if grad_outputs is not None else [None] * len(ctx.saved_steps)
        grad_gates, grad_unclipped_hiddens = [], []
        for t in reversed(range(len(ctx.saved_steps))):
            (input_gate, forget_gate, new_memory, output_gate, previous_memory, tanh_memory, _, _,
             memory_passes, hidden_passes) = ctx.saved_steps[t]  # fmt: skip
            real = real_steps[t]
            # hidden = lerp(hidden, next_hidden, real) and output = next_hidden * real
            grad_next_hidden = grad_hidden * real
            if grad_outputs[t] is not None:
                grad_next_hidden = grad_next_hidden + grad_outputs[t] * real
            grad_next_memory = grad_memory * real
            grad_hidden_kept, grad_memory_kept = grad_hidden * (1 - real), grad_memory * (1 - real)
            if hidden_passes is not None:
                grad_next_hidden = grad_next_hidden * hidden_passes
            grad_unclipped_hiddens.append(grad_next_hidden)
            grad_projected = torch.bmm(grad_next_hidden, weight_hr_t.transpose(1, 2))
            grad_output_gate = grad_projected * tanh_memory
            grad_next_memory = grad_next_memory + grad_projected * output_gate * (1 - tanh_memory * tanh_memory)
            if memory_passes is not None:
                grad_next_memory = grad_next_memory * memory_passes
            gates = torch.cat(
                (
                    grad_next_memory * new_memory * input_gate * (1 - input_gate),
                    grad_next_memory * previous_memory * forget_gate * (1 - forget_gate),
                    grad_next_memory * input_gate * (1 - new_memory * new_memory),
                    grad_output_gate * output_gate * (1 - output_gate),
                ),
                dim=-1,
            )
            grad_gates.append(gates)
            grad_hidden = torch.bmm(gates, weight_hh_t.transpose(1, 2)) + grad_hidden_kept
            grad_memory = grad_next_memory * forget_gate + grad_memory_kept
        grad_gates.reverse()
        grad_unclipped_hiddens.reverse()
        grad_projected_inputs = torch.stack(grad_gates, dim=2)  # [2, batch, time, 4 * cell]

        def over_all_steps(tensors):  # time × [2, batch, width] → [2, batch * time, width]
            return torch.stack(tensors, dim=2).flatten(1, 2)

        # the weight gradients of all steps at once: [2, width, batch * time] @ [2, batch * time, 4 * cell or proj]
        previous_hiddens = over_all_steps([step[6] for step in ctx.saved_steps])
        projecteds = over_all_steps([step[7] for step in ctx.saved_steps])
        grad_weight_hh_t = torch.bmm(previous_hiddens.transpose(1, 2), grad_projected_inputs.flatten(1, 2))
        grad_weight_hr_t = torch.bmm(projecteds.transpose(1, 2), over_all_steps(grad_unclipped_hiddens))
        grads = (grad_projected_inputs, grad_hidden, grad_memory, grad_weight_hh_t, grad_weight_hr_t)
        grads = [grad.to(input_dtype) for grad, input_dtype in zip(grads, ctx.input_dtypes)]
        return grads[0], None, *grads[1:], None, None


class NotesElmoLstmLayer(nn.Module):
    """One biLM layer: a forward and a backward LSTM with projection, each reading its own direction's input."""

    def __init__(self, config: NotesElmoConfig, input_size: int):
        super().__init__()
        self.config = config

        def lstm():
            return nn.LSTM(input_size, config.lstm_cell_size, proj_size=config.projection_dim, batch_first=True)

        self.forward_lstm = lstm()
        self.backward_lstm = lstm()

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor, state: LayerState):
        """inputs: [2, batch, time, input] (the backward half already in reading order); mask: [batch, time] bool.

        Returns the outputs [2, batch, time, projection_dim] (zero at padding) and the final state.
        """
        if self.config.lstm_implementation == "fast":
            return self._fast(inputs, lengths, state)
        return self._exact(inputs, mask, state)

    def _stacked(self, name: str) -> torch.Tensor:
        return torch.stack((getattr(self.forward_lstm, name), getattr(self.backward_lstm, name)))

    def _exact(self, inputs: torch.Tensor, mask: torch.Tensor, state: LayerState):
        cell_clip, proj_clip = self.config.cell_clip, self.config.proj_clip
        weight_ih = self._stacked("weight_ih_l0")  # [2, 4 * cell, input]
        weight_hh_t = self._stacked("weight_hh_l0").transpose(1, 2)  # [2, projection, 4 * cell]
        weight_hr_t = self._stacked("weight_hr_l0").transpose(1, 2)  # [2, cell, projection]
        bias = self._stacked("bias_ih_l0") + self._stacked("bias_hh_l0")  # [2, 4 * cell]
        # the input projection of every time step of both directions: one batched matrix product
        directions, batch_size, time, _ = inputs.shape
        projected_inputs = torch.baddbmm(
            bias.unsqueeze(1), inputs.reshape(directions, batch_size * time, -1), weight_ih.transpose(1, 2)
        ).view(directions, batch_size, time, -1)
        outputs, hidden, memory = _ClippedLstmRecurrence.apply(
            projected_inputs, mask, state[0], state[1], weight_hh_t, weight_hr_t, cell_clip, proj_clip
        )
        return outputs, (hidden, memory)

    def _fast(self, inputs: torch.Tensor, lengths: torch.Tensor, state: LayerState):
        hidden, memory = state
        # an empty row cannot be packed: run it for one (masked) step and keep its initial state
        packed_lengths = lengths.clamp(min=1).cpu()
        empty = (lengths == 0).view(1, -1, 1)
        outputs, final_hidden, final_memory = [], [], []
        for direction, lstm in enumerate((self.forward_lstm, self.backward_lstm)):
            packed = nn.utils.rnn.pack_padded_sequence(
                inputs[direction], packed_lengths, batch_first=True, enforce_sorted=False
            )
            packed_output, (h_n, c_n) = lstm(
                packed, (hidden[direction : direction + 1].contiguous(), memory[direction : direction + 1].contiguous())
            )
            output, _ = nn.utils.rnn.pad_packed_sequence(packed_output, batch_first=True, total_length=inputs.size(2))
            outputs.append(output)
            final_hidden.append(h_n[0])
            final_memory.append(c_n[0])
        final_hidden = torch.where(empty, hidden, torch.stack(final_hidden))
        final_memory = torch.where(empty, memory, torch.stack(final_memory))
        output = torch.stack(outputs) * (lengths > 0).view(1, -1, 1, 1)
        return output, (final_hidden, final_memory)


class NotesElmoBiLm(nn.Module):
    """The LSTM stacks: token embeddings [batch, words, projection_dim] → one representation per LSTM layer."""

    def __init__(self, config: NotesElmoConfig):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList(
            NotesElmoLstmLayer(config, config.projection_dim) for _ in range(config.num_lstm_layers)
        )
        self.dropout = nn.Dropout(config.dropout)

    def zero_states(self, batch_size: int, reference: torch.Tensor) -> tuple[LayerState, ...]:
        config = self.config
        return tuple(
            (
                reference.new_zeros(2, batch_size, config.projection_dim),
                reference.new_zeros(2, batch_size, config.lstm_cell_size),
            )
            for _ in range(config.num_lstm_layers)
        )

    def forward(self, token_embedding, mask, initial_states=None):
        lengths = mask.sum(dim=1)
        states = initial_states if initial_states is not None else self.zero_states(mask.size(0), token_embedding)
        # both directions side by side: [2, batch, words, dim], the backward one in its reading order
        inputs = torch.stack((token_embedding, _reverse_within_lengths(token_embedding, lengths)))
        layer_outputs, final_states = [], []
        for index, (layer, state) in enumerate(zip(self.layers, states)):
            # bilm-tf wraps the residual cell in the dropout: the dropped input is what both see
            layer_input = self.dropout(inputs)
            outputs, final_state = layer(layer_input, mask, lengths, state)
            if index > 0 and self.config.use_skip_connections:
                outputs = outputs + layer_input
            final_states.append(final_state)
            # forward ‖ backward (back in sentence order), zero at padding
            layer_outputs.append(
                torch.cat((outputs[0], _reverse_within_lengths(outputs[1], lengths)), dim=-1) * mask.unsqueeze(-1)
            )
            inputs = outputs
        return layer_outputs, tuple(final_states)


@dataclass
class NotesElmoModelOutput(ModelOutput):
    """last_hidden_state: the top layer [batch, words, 2 × projection_dim] (forward ‖ backward).
    hidden_states (output_hidden_states=True): the token layer (duplicated to 2 × projection_dim) and every LSTM layer.
    final_states (return_final_states=True): per LSTM layer (h [2, batch, projection_dim], c [2, batch, cell]) of every
    row at its last real word (index 0: forward, 1: backward); pass it back as `initial_states` to continue the text.
    """

    last_hidden_state: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    final_states: tuple[LayerState, ...] | None = None


class NotesElmoPreTrainedModel(NotesSaveWithCodeMixin, PreTrainedModel):
    config_class = NotesElmoConfig
    config: NotesElmoConfig
    base_model_prefix = "elmo"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _no_split_modules = ["NotesElmoCharacterEncoder", "NotesElmoLstmLayer"]
    # only the sequence classifier's pooling attends, through the shared NotesMultiHeadAttention
    _supports_sdpa = True
    _supports_attention_backend = True

    def card_config_summary(self) -> dict:
        names = ("projection_dim", "lstm_cell_size", "num_lstm_layers", "cnn_filters", "num_highway_layers",
                 "vocab_size", "lstm_implementation")  # fmt: skip
        return {name: getattr(self.config, name) for name in names}

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.LSTM):
            # the original initialises the LSTM uniformly; the forget gate starts open (TensorFlow's forget bias 1.0)
            bound = 1.0 / math.sqrt(module.hidden_size)
            for name, param in module.named_parameters():
                if name.startswith("weight"):
                    init.uniform_(param, -bound, bound)
            for name in ("bias_ih_l0", "bias_ih_l0_reverse"):
                if hasattr(module, name):
                    bias = torch.zeros_like(getattr(module, name))
                    bias[module.hidden_size : 2 * module.hidden_size] = 1.0
                    init.copy_(getattr(module, name), bias)
        elif isinstance(module, nn.Embedding):  # the character embedding: bilm-tf's uniform init, padding row 0
            if not getattr(module.weight, "_is_hf_initialized", False):
                module.weight.uniform_(-1.0, 1.0)
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.Conv1d):  # the character CNN
            init.uniform_(module.weight, -0.05, 0.05)
        if isinstance(module, nn.Linear) and hasattr(module, "elmo_init_std"):
            init.normal_(module.weight, mean=0.0, std=module.elmo_init_std)
            init.constant_(module.bias, module.elmo_init_bias)
        elif isinstance(module, NotesElmoForSequenceClassification):
            init.normal_(module.pooling_query, mean=0.0, std=self.config.initializer_range)
        elif isinstance(module, ScalarMix):
            init.zeros_(module.layer_weights)
            init.ones_(module.gamma)


def _word_mask(input_ids: torch.Tensor) -> torch.Tensor:
    """A word is real when any of its character ids is non-zero (a padded word is all zeros)."""
    return (input_ids > 0).any(dim=-1)


class NotesElmoModel(NotesElmoPreTrainedModel):
    """Character ids [batch, words, max_characters_per_token] → ELMo layer representations.

    `last_hidden_state` is the top layer; with `output_hidden_states=True`, `hidden_states` holds all
    `num_lstm_layers + 1` representations, each [batch, words, 2 × projection_dim], sentence boundaries included
    when the tokenizer added them.
    """

    def __init__(self, config: NotesElmoConfig):
        super().__init__(config)
        self.char_encoder = NotesElmoCharacterEncoder(config)
        self.bilm = NotesElmoBiLm(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.char_encoder.char_embedding

    def set_input_embeddings(self, value):
        self.char_encoder.char_embedding = value

    def _check_inputs(self, input_ids, attention_mask, initial_states):
        config = self.config
        if input_ids is None:
            raise ValueError("NotesElmoModel needs input_ids (character ids [batch, words, characters])")
        check_rank(input_ids, 3, "input_ids", "[batch, words, max_characters_per_token] character ids; "
                   "use NotesElmoTokenizer to turn text into them")
        if input_ids.size(-1) != config.max_characters_per_token:
            raise ValueError(
                f"input_ids has {input_ids.size(-1)} characters per word (shape {tuple(input_ids.shape)}) but the "
                f"model takes max_characters_per_token={config.max_characters_per_token}"
            )
        if input_ids.size(0) == 0 or input_ids.size(1) == 0:
            raise ValueError(f"input_ids holds no words (shape {tuple(input_ids.shape)})")
        check_ids_in_range(input_ids, config.num_characters, "input_ids", "num_characters")
        if attention_mask is not None:
            check_same_shape(input_ids[..., 0], attention_mask, "input_ids[..., 0] (the words)", "attention_mask")
            mask = attention_mask.bool()
            lengths = mask.sum(dim=1, keepdim=True)
            if not torch.equal(mask, torch.arange(mask.size(1), device=mask.device) < lengths):
                raise ValueError("attention_mask must mark the real words first and the padding after them in every row")
        if initial_states is not None:
            self._check_states(initial_states, input_ids.size(0))

    def _check_states(self, states, batch_size: int):
        config = self.config
        if not isinstance(states, (tuple, list)) or len(states) != config.num_lstm_layers:
            raise ValueError(
                f"initial_states must hold one (h, c) pair per LSTM layer ({config.num_lstm_layers}), as returned in "
                "final_states"
            )
        for layer, pair in enumerate(states):
            expected = ((2, batch_size, config.projection_dim), (2, batch_size, config.lstm_cell_size))
            if (
                not isinstance(pair, (tuple, list))
                or len(pair) != 2
                or tuple(pair[0].shape) != expected[0]
                or tuple(pair[1].shape) != expected[1]
            ):
                shapes = [tuple(t.shape) for t in pair] if isinstance(pair, (tuple, list)) else type(pair).__name__
                raise ValueError(f"initial_states[{layer}] must be (h {expected[0]}, c {expected[1]}), got {shapes}")

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        initial_states: tuple[LayerState, ...] | None = None,
        return_final_states: bool = False,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> NotesElmoModelOutput:
        self._check_inputs(input_ids, attention_mask, initial_states)
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        mask = attention_mask.bool() if attention_mask is not None else _word_mask(input_ids)
        token_embedding = self.char_encoder(input_ids) * mask.unsqueeze(-1)
        lstm_outputs, final_states = self.bilm(token_embedding, mask, initial_states)
        layers = (torch.cat((token_embedding, token_embedding), dim=-1), *lstm_outputs)
        return NotesElmoModelOutput(
            last_hidden_state=layers[-1],
            hidden_states=layers if output_hidden_states else None,
            final_states=final_states if return_final_states else None,
        )


def sampled_softmax_loss(
    hidden: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, num_samples: int
) -> torch.Tensor:
    """Sampled softmax (Jean et al., 2015) as bilm-tf trains with it: the true word against `num_samples` words drawn
    from a log-uniform (Zipfian) distribution over the frequency-ordered vocabulary, shared by the whole batch, each
    logit corrected by the log of its expected count, accidental hits of the true word removed.

    hidden: [N, dim]; targets: [N] word ids.
    """
    vocab_size = weight.size(0)
    ranks = torch.arange(vocab_size, device=hidden.device, dtype=torch.float32)
    probabilities = (torch.log(ranks + 2) - torch.log(ranks + 1)) / math.log(vocab_size + 1)
    sampled = torch.multinomial(probabilities, num_samples, replacement=True)
    log_expected = torch.log(num_samples * probabilities)
    true_logits = (hidden * weight[targets]).sum(-1) + bias[targets] - log_expected[targets]
    sampled_logits = hidden @ weight[sampled].T + bias[sampled] - log_expected[sampled]
    sampled_logits = sampled_logits.masked_fill(sampled.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))
    logits = torch.cat((true_logits.unsqueeze(1), sampled_logits), dim=1)
    return nn.functional.cross_entropy(logits, torch.zeros_like(targets))


@dataclass
class NotesElmoBidirectionalLMOutput(ModelOutput):
    """loss: mean of the two directions' losses; forward_loss / backward_loss: each direction's mean cross-entropy
    (exp of it is that direction's perplexity). forward_logits[:, t] scores word t + 1, backward_logits[:, t] word
    t - 1 (None while training with the sampled softmax)."""

    loss: torch.Tensor | None = None
    forward_loss: torch.Tensor | None = None
    backward_loss: torch.Tensor | None = None
    forward_logits: torch.Tensor | None = None
    backward_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    final_states: tuple[LayerState, ...] | None = None


class NotesElmoForBidirectionalLM(NotesElmoPreTrainedModel):
    """The biLM pretraining objective: the forward LM predicts the next word from the forward top layer, the backward
    LM the previous word from the backward top layer, with one softmax over the word vocabulary shared by both.

    `labels`: [batch, words] word-vocabulary ids of the input words themselves (-100 at padding), as
    `NotesElmoTokenizer(..., return_lm_labels=True)` makes them; the shift happens here.
    """

    def __init__(self, config: NotesElmoConfig):
        super().__init__(config)
        self.elmo = NotesElmoModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.softmax = nn.Linear(config.projection_dim, config.vocab_size)
        self.post_init()

    def get_output_embeddings(self):
        return self.softmax

    def set_output_embeddings(self, new_embeddings):
        self.softmax = new_embeddings

    def _direction_loss(self, hidden: torch.Tensor, logits: torch.Tensor | None, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of one direction over its real targets: from the full `logits` when given, else with
        the sampled softmax (training only)."""
        keep = targets != -100
        targets = targets[keep]
        check_ids_in_range(targets, self.config.vocab_size, "labels", "vocab_size")
        if targets.numel() == 0:
            return hidden.sum() * 0.0  # no word to predict (one-word rows): a zero that keeps the graph
        if logits is None:
            return sampled_softmax_loss(
                hidden[keep], targets, self.softmax.weight, self.softmax.bias, self.config.sampled_softmax_num_samples
            )
        return nn.functional.cross_entropy(logits[keep], targets)

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        labels=None,
        initial_states=None,
        return_final_states: bool = False,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> NotesElmoBidirectionalLMOutput:
        outputs = self.elmo(
            input_ids,
            attention_mask,
            initial_states=initial_states,
            return_final_states=return_final_states,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        top = self.dropout(outputs.last_hidden_state)
        forward_top, backward_top = top.split(self.config.projection_dim, dim=-1)
        num_samples = self.config.sampled_softmax_num_samples
        sampled = self.training and labels is not None and 0 < num_samples < self.config.vocab_size
        # the full softmax once per direction, shared by the loss and the returned logits
        forward_logits = None if sampled else self.softmax(forward_top)
        backward_logits = None if sampled else self.softmax(backward_top)
        loss = forward_loss = backward_loss = None
        if labels is not None:
            check_same_shape(input_ids[..., 0], labels, "input_ids[..., 0] (the words)", "labels")
            # forward: position t predicts word t + 1; backward: position t predicts word t - 1
            forward_loss = self._direction_loss(
                forward_top[:, :-1], None if sampled else forward_logits[:, :-1], labels[:, 1:]
            )
            backward_loss = self._direction_loss(
                backward_top[:, 1:], None if sampled else backward_logits[:, 1:], labels[:, :-1]
            )
            loss = (forward_loss + backward_loss) / 2
        return NotesElmoBidirectionalLMOutput(
            loss=loss,
            forward_loss=forward_loss,
            backward_loss=backward_loss,
            forward_logits=forward_logits,
            backward_logits=backward_logits,
            hidden_states=outputs.hidden_states,
            final_states=outputs.final_states,
        )


def _scale_init_by_fan_in(*linears: nn.Linear):
    """Marks task-head layers for an init with std 1/sqrt(fan_in): the frozen features vary little between sentences,
    and a chain of layers at std 0.02 starts with outputs (and gradients) too small to learn from in a few steps."""
    for linear in linears:
        linear.elmo_init_std = 1.0 / math.sqrt(linear.in_features)
        linear.elmo_init_bias = 0.0


class _NotesElmoFeatureModel(NotesElmoPreTrainedModel):
    """What both downstream heads share: the biLM (frozen by default, then also kept in eval mode so that its dropout
    is off), and their own learned scalar mix of all layer representations."""

    def _build_features(self, config: NotesElmoConfig):
        self.elmo = NotesElmoModel(config)
        self.scalar_mix = ScalarMix(config.num_lstm_layers + 1, do_layer_norm=config.scalar_mix_layer_norm)
        self.dropout = nn.Dropout(config.classifier_dropout)

    def post_init(self):
        super().post_init()
        self.apply_freeze_bilm()

    def apply_freeze_bilm(self):
        """Sets `requires_grad` of the biLM from `config.freeze_bilm` (the forward also never builds a graph through a
        frozen biLM, so a stale flag cannot train it)."""
        self.elmo.requires_grad_(not self.config.freeze_bilm)

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        loaded = super().from_pretrained(*args, **kwargs)
        # loading creates fresh parameters, which require grad (the result is a tuple with output_loading_info=True)
        (loaded[0] if isinstance(loaded, tuple) else loaded).apply_freeze_bilm()
        return loaded

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.freeze_bilm:
            self.elmo.eval()
        return self

    def _mixed_features(self, input_ids, attention_mask, output_hidden_states):
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze_bilm):
            outputs = self.elmo(input_ids, attention_mask, output_hidden_states=True, return_dict=True)
        mask = attention_mask.bool() if attention_mask is not None else _word_mask(input_ids)
        mixed = self.dropout(self.scalar_mix(outputs.hidden_states, mask))
        return mixed, mask, (outputs.hidden_states if output_hidden_states else None)


class NotesElmoForSequenceClassification(_NotesElmoFeatureModel):
    """Frozen ELMo → learned scalar mix → self-attentive pooling → linear classifier.

    The pooling is the shared `NotesMultiHeadAttention` in its cross-attention form: one learned query attends over the
    mixed word features (padding masked), and `pooling_output` is its output projection W_O. Regression,
    single-label or multi-label classification by `config.problem_type`.
    """

    def __init__(self, config: NotesElmoConfig):
        super().__init__(config)
        self._build_features(config)
        self.pooling_query = nn.Parameter(torch.zeros(1, 1, config.output_dim))
        self.pooling_attention = NotesMultiHeadAttention(
            config, config.output_dim, config.classifier_num_heads, is_cross_attention=True
        )
        self.pooling_output = nn.Linear(config.output_dim, config.output_dim)
        self.classifier = nn.Linear(config.output_dim, config.num_labels)
        attention = self.pooling_attention
        _scale_init_by_fan_in(attention.query, attention.key, attention.value, self.pooling_output, self.classifier)
        self.post_init()

    @can_return_tuple
    def forward(
        self, input_ids=None, attention_mask=None, labels=None, output_hidden_states: bool | None = None, **kwargs
    ) -> SequenceClassifierOutput:
        mixed, mask, hidden_states = self._mixed_features(input_ids, attention_mask, output_hidden_states)
        # a row without any word would leave nothing to attend to: let it attend to its (all-zero) first position
        keys_allowed = mask.clone()
        keys_allowed[:, 0] |= ~mask.any(dim=1)
        query = self.pooling_query.expand(mixed.size(0), -1, -1)
        pooled, attention = self.pooling_attention(
            query, attention_mask=keys_allowed[:, None, None, :], key_value_states=mixed
        )
        logits = self.classifier(self.dropout(self.pooling_output(pooled[:, 0])))
        loss = sequence_classification_loss(self.config, logits, labels) if labels is not None else None
        return SequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=hidden_states,
            attentions=(attention,) if attention is not None else None,
        )


class NotesElmoForTokenClassification(_NotesElmoFeatureModel):
    """Frozen ELMo → learned scalar mix → BiLSTM → linear tagger (the paper's recipe for tagging tasks).

    `labels`: [batch, words], -100 at positions to ignore (sentence boundaries, padding).
    """

    def __init__(self, config: NotesElmoConfig):
        super().__init__(config)
        self._build_features(config)
        self.tagger_lstm = nn.LSTM(
            config.output_dim, config.token_classifier_hidden_size, batch_first=True, bidirectional=True
        )
        self.classifier = nn.Linear(2 * config.token_classifier_hidden_size, config.num_labels)
        _scale_init_by_fan_in(self.classifier)
        self.post_init()

    @can_return_tuple
    def forward(
        self, input_ids=None, attention_mask=None, labels=None, output_hidden_states: bool | None = None, **kwargs
    ) -> TokenClassifierOutput:
        mixed, mask, hidden_states = self._mixed_features(input_ids, attention_mask, output_hidden_states)
        lengths = mask.sum(dim=1)
        # packed, so that the backward direction starts at each row's last real word, not in the padding
        packed = nn.utils.rnn.pack_padded_sequence(
            mixed, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        encoded, _ = nn.utils.rnn.pad_packed_sequence(
            self.tagger_lstm(packed)[0], batch_first=True, total_length=mixed.size(1)
        )
        logits = self.classifier(self.dropout(encoded))
        loss = None
        if labels is not None:
            check_same_shape(logits[..., 0], labels, "the words of input_ids", "labels")
            loss = token_classification_loss(logits, labels.masked_fill(~mask, -100))
        return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=hidden_states)


AUTO_CLASSES = {
    "AutoModel": NotesElmoModel,
    "AutoModelForPreTraining": NotesElmoForBidirectionalLM,
    "AutoModelForSequenceClassification": NotesElmoForSequenceClassification,
    "AutoModelForTokenClassification": NotesElmoForTokenClassification,
}
register_auto_classes(NotesElmoConfig, NotesElmoPreTrainedModel, AUTO_CLASSES)

__all__ = [
    "AUTO_CLASSES",
    "NotesElmoPreTrainedModel",
    "NotesElmoModel",
    "NotesElmoForBidirectionalLM",
    "NotesElmoForSequenceClassification",
    "NotesElmoForTokenClassification",
    "sampled_softmax_loss",
]
