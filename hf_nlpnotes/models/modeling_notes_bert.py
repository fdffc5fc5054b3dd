"""BERT (Devlin et al., 2019): a post-LN Transformer encoder pretrained with masked-LM and next-sentence prediction.

Module names mirror transformers' BERT one to one, so every class here has exactly the `state_dict` keys of its
transformers counterpart (`NotesBertForMaskedLM` <-> `BertForMaskedLM`, ...) and checkpoints move both ways with
`load_state_dict(strict=True)`. Attention is the shared `NotesMultiHeadAttention`.
"""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.masking_utils import create_bidirectional_mask
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from transformers.utils import ModelOutput, logging
from transformers.utils.generic import can_return_tuple, merge_with_config_defaults
from transformers.utils.output_capturing import capture_outputs

from .configuration_notes_bert import NotesBertConfig
from .modeling_notes_utils import (
    NotesSaveWithCodeMixin,
    check_ids_in_range,
    check_same_shape,
    register_auto_classes,
    sequence_classification_loss,
    token_classification_loss,
)
from .notes_attention import NotesMultiHeadAttention

logger = logging.get_logger(__name__)


class NotesBertEmbeddings(nn.Module):
    """word + learned position + token type embeddings, then LayerNorm and dropout."""

    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        batch_size, seq_length = inputs_embeds.shape[:2]
        if position_ids is None:
            position_ids = torch.arange(seq_length, device=inputs_embeds.device).unsqueeze(0)
        if token_type_ids is None:
            # segment A everywhere; the broadcast add below avoids materialising a [batch, length] tensor
            embeddings = inputs_embeds + self.token_type_embeddings.weight[0]
        else:
            embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class NotesBertSelfOutput(nn.Module):
    """The attention output projection W_O, dropout, residual and post-LN (BERT stores W_O here)."""

    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class NotesBertAttention(nn.Module):
    def __init__(self, config: NotesBertConfig, layer_idx: int | None = None):
        super().__init__()
        self.self = NotesMultiHeadAttention(
            config,
            hidden_size=config.hidden_size,
            num_heads=config.num_attention_heads,
            dropout=config.attention_probs_dropout_prob,
            layer_idx=layer_idx,
        )
        self.output = NotesBertSelfOutput(config)

    def forward(self, hidden_states: torch.Tensor, attention_mask=None, **kwargs) -> torch.Tensor:
        attention_output, _ = self.self(hidden_states, attention_mask=attention_mask, **kwargs)
        return self.output(attention_output, hidden_states)


class NotesBertIntermediate(nn.Module):
    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class NotesBertOutput(NotesBertSelfOutput):
    """Second half of the feed-forward block: projection back to hidden size, dropout, residual, post-LN."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)


class NotesBertLayer(GradientCheckpointingLayer):
    """One encoder layer: self-attention block then feed-forward block, each with residual + post-LN."""

    def __init__(self, config: NotesBertConfig, layer_idx: int | None = None):
        super().__init__()
        self.attention = NotesBertAttention(config, layer_idx=layer_idx)
        self.intermediate = NotesBertIntermediate(config)
        self.output = NotesBertOutput(config)

    def forward(self, hidden_states: torch.Tensor, attention_mask=None, **kwargs) -> torch.Tensor:
        attention_output = self.attention(hidden_states, attention_mask, **kwargs)
        return self.output(self.intermediate(attention_output), attention_output)


class NotesBertEncoder(nn.Module):
    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.layer = nn.ModuleList(NotesBertLayer(config, layer_idx=i) for i in range(config.num_hidden_layers))

    def forward(self, hidden_states: torch.Tensor, attention_mask=None, **kwargs) -> torch.Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, attention_mask, **kwargs)
        return hidden_states


class NotesBertPooler(nn.Module):
    """tanh(W h_[CLS] + b): the sentence representation used by NSP and the sentence-level heads."""

    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


class NotesBertPredictionHeadTransform(nn.Module):
    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class NotesBertLMPredictionHead(nn.Module):
    """Masked-LM head. `decoder.weight` is tied to the word embeddings; `bias` is the same tensor as
    `decoder.bias`, kept under both names because BERT checkpoints store it as `cls.predictions.bias`."""

    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.transform = NotesBertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=True)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states: torch.Tensor, labels: torch.Tensor | None = None):
        """Returns the logits over the vocabulary and, when `labels` are given, the masked-LM loss."""
        transformed = self.transform(hidden_states)
        logits = self.decoder(transformed)
        loss = self._masked_positions_loss(transformed, labels) if labels is not None else None
        return logits, loss

    def _masked_positions_loss(self, transformed: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # The loss depends only on the masked positions (label != -100, ~15%), so only those rows go through the
        # decoder a second time for it: backward then multiplies 15% of the rows by the full-vocabulary matrix
        # instead of all of them. Same value as cross-entropy over the full logits with ignore_index=-100, and the
        # returned full logits stay differentiable for callers who need them.
        check_same_shape(transformed[..., 0], labels, "input_ids", "labels")
        flat_labels = labels.reshape(-1)
        positions = (flat_labels != -100).nonzero().squeeze(1)
        targets = flat_labels.index_select(0, positions)
        check_ids_in_range(targets, self.decoder.out_features, "labels", "vocab_size")
        selected = transformed.reshape(-1, transformed.size(-1)).index_select(0, positions)
        return nn.functional.cross_entropy(self.decoder(selected), targets)


class NotesBertOnlyMLMHead(nn.Module):
    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.predictions = NotesBertLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor, labels: torch.Tensor | None = None):
        return self.predictions(sequence_output, labels)


class NotesBertOnlyNSPHead(nn.Module):
    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: torch.Tensor) -> torch.Tensor:
        return self.seq_relationship(pooled_output)


class NotesBertPreTrainingHeads(nn.Module):
    def __init__(self, config: NotesBertConfig):
        super().__init__()
        self.predictions = NotesBertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: torch.Tensor, pooled_output: torch.Tensor, labels: torch.Tensor | None = None):
        prediction_scores, masked_lm_loss = self.predictions(sequence_output, labels)
        return prediction_scores, masked_lm_loss, self.seq_relationship(pooled_output)


class NotesBertPreTrainedModel(NotesSaveWithCodeMixin, PreTrainedModel):
    config_class = NotesBertConfig
    config: NotesBertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    _no_split_modules = ["NotesBertEmbeddings", "NotesBertLayer"]
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _can_record_outputs = {"hidden_states": NotesBertLayer, "attentions": NotesMultiHeadAttention}

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, NotesBertLMPredictionHead):
            init.zeros_(module.bias)


class NotesBertModel(NotesBertPreTrainedModel):
    """The bare encoder: `last_hidden_state` [batch, length, hidden] and `pooler_output` [batch, hidden]."""

    def __init__(self, config: NotesBertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = NotesBertEmbeddings(config)
        self.encoder = NotesBertEncoder(config)
        self.pooler = NotesBertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def _check_inputs(self, input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids or inputs_embeds")
        if input_ids is not None:
            if input_ids.dim() != 2:
                raise ValueError(f"input_ids must be [batch, length], got shape {tuple(input_ids.shape)}")
            check_ids_in_range(input_ids, self.config.vocab_size, "input_ids", "vocab_size")
            shape = input_ids.shape
        else:
            shape = inputs_embeds.shape[:2]
        if position_ids is None and shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"sequence length {shape[1]} exceeds max_position_embeddings={self.config.max_position_embeddings}; "
                "truncate the input (e.g. tokenizer(..., truncation=True))"
            )
        check_ids_in_range(position_ids, self.config.max_position_embeddings, "position_ids", "max_position_embeddings")
        for name, tensor in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if tensor is not None and tuple(tensor.shape) != tuple(shape):
                raise ValueError(
                    f"{name} has shape {tuple(tensor.shape)} but the input ids have shape {tuple(shape)}; they must match"
                )
        check_ids_in_range(token_type_ids, self.config.type_vocab_size, "token_type_ids", "type_vocab_size")

    @merge_with_config_defaults
    @capture_outputs
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        self._check_inputs(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        embedding_output = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        # None when nothing is masked, a bool mask for SDPA, an additive float mask for eager
        attention_mask = create_bidirectional_mask(
            config=self.config, inputs_embeds=embedding_output, attention_mask=attention_mask
        )
        sequence_output = self.encoder(embedding_output, attention_mask, **kwargs)
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output, pooler_output=pooled_output
        )


@dataclass
class NotesBertForPreTrainingOutput(ModelOutput):
    """loss: masked-LM loss + next-sentence loss; prediction_logits: [batch, length, vocab];
    seq_relationship_logits: [batch, 2] (index 0: B follows A, 1: B is random)."""

    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor] | None = None
    attentions: tuple[torch.Tensor] | None = None


class _NotesBertWithLMHead(NotesBertPreTrainedModel):
    """Tying and resizing of the MLM decoder, shared by the two classes that carry it."""

    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings):
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias


class NotesBertForPreTraining(_NotesBertWithLMHead):
    """BERT with both pretraining heads: masked-LM (`labels`) and next-sentence prediction (`next_sentence_label`)."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.bert = NotesBertModel(config)
        self.cls = NotesBertPreTrainingHeads(config)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        next_sentence_label=None,
        **kwargs,
    ) -> NotesBertForPreTrainingOutput:
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, return_dict=True, **kwargs
        )
        prediction_scores, loss, seq_relationship_score = self.cls(
            outputs.last_hidden_state, outputs.pooler_output, labels
        )
        if next_sentence_label is not None:
            nsp_loss = token_classification_loss(seq_relationship_score, next_sentence_label)
            loss = nsp_loss if loss is None else loss + nsp_loss
        return NotesBertForPreTrainingOutput(
            loss=loss,
            prediction_logits=prediction_scores,
            seq_relationship_logits=seq_relationship_score,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class NotesBertForMaskedLM(_NotesBertWithLMHead):
    """BERT with the masked-LM head; `labels` holds the original ids at masked positions and -100 elsewhere."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.bert = NotesBertModel(config, add_pooling_layer=False)
        self.cls = NotesBertOnlyMLMHead(config)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        **kwargs,
    ) -> MaskedLMOutput:
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, return_dict=True, **kwargs
        )
        prediction_scores, loss = self.cls(outputs.last_hidden_state, labels)
        return MaskedLMOutput(
            loss=loss, logits=prediction_scores, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


class NotesBertForNextSentencePrediction(NotesBertPreTrainedModel):
    """Is segment B the continuation of segment A? `labels`: 0 yes, 1 no (random sentence)."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.bert = NotesBertModel(config)
        self.cls = NotesBertOnlyNSPHead(config)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        **kwargs,
    ) -> NextSentencePredictorOutput:
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, return_dict=True, **kwargs
        )
        logits = self.cls(outputs.pooler_output)
        loss = token_classification_loss(logits, labels) if labels is not None else None
        return NextSentencePredictorOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


def _classifier_dropout(config: NotesBertConfig) -> nn.Dropout:
    return nn.Dropout(config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob)


class NotesBertForSequenceClassification(NotesBertPreTrainedModel):
    """Pooled [CLS] → dropout → linear. Regression, single-label or multi-label by `config.problem_type`."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = NotesBertModel(config)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, return_dict=True, **kwargs
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))
        loss = sequence_classification_loss(self.config, logits, labels) if labels is not None else None
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


class NotesBertForTokenClassification(NotesBertPreTrainedModel):
    """Per-token labels (NER, POS tagging); -100 labels are ignored."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = NotesBertModel(config, add_pooling_layer=False)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        **kwargs,
    ) -> TokenClassifierOutput:
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, return_dict=True, **kwargs
        )
        logits = self.classifier(self.dropout(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            check_same_shape(logits[..., 0], labels, "input_ids", "labels")
            loss = token_classification_loss(logits, labels)
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


class NotesBertForQuestionAnswering(NotesBertPreTrainedModel):
    """Extractive QA: a start and an end logit per token (SQuAD-style span prediction)."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = NotesBertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        start_positions=None,
        end_positions=None,
        **kwargs,
    ) -> QuestionAnsweringModelOutput:
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds, return_dict=True, **kwargs
        )
        logits = self.qa_outputs(outputs.last_hidden_state)
        start_logits, end_logits = logits.split(1, dim=-1)
        start_logits, end_logits = start_logits.squeeze(-1).contiguous(), end_logits.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None and end_positions is not None:
            # positions outside the sequence (answer truncated away) are clamped to an ignored index
            ignored_index = start_logits.size(1)
            start_positions = start_positions.view(-1).clamp(0, ignored_index)
            end_positions = end_positions.view(-1).clamp(0, ignored_index)
            loss_fct = nn.CrossEntropyLoss(ignore_index=ignored_index)
            loss = (loss_fct(start_logits, start_positions) + loss_fct(end_logits, end_positions)) / 2
        return QuestionAnsweringModelOutput(
            loss=loss,
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class NotesBertForMultipleChoice(NotesBertPreTrainedModel):
    """Scores each of `num_choices` candidate sequences; inputs are [batch, num_choices, length]."""

    def __init__(self, config: NotesBertConfig):
        super().__init__(config)
        self.bert = NotesBertModel(config)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        **kwargs,
    ) -> MultipleChoiceModelOutput:
        reference = input_ids if input_ids is not None else inputs_embeds
        if reference is None or reference.dim() < 3:
            raise ValueError("multiple choice inputs must be [batch, num_choices, length]")
        num_choices = reference.shape[1]

        def flatten(tensor, trailing):
            return tensor.reshape(-1, *tensor.shape[-trailing:]) if tensor is not None else None

        outputs = self.bert(
            flatten(input_ids, 1),
            flatten(attention_mask, 1),
            flatten(token_type_ids, 1),
            flatten(position_ids, 1),
            flatten(inputs_embeds, 2),
            return_dict=True,
            **kwargs,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output)).view(-1, num_choices)
        loss = token_classification_loss(logits, labels) if labels is not None else None
        return MultipleChoiceModelOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


AUTO_CLASSES = {
    "AutoModel": NotesBertModel,
    "AutoModelForPreTraining": NotesBertForPreTraining,
    "AutoModelForMaskedLM": NotesBertForMaskedLM,
    "AutoModelForNextSentencePrediction": NotesBertForNextSentencePrediction,
    "AutoModelForSequenceClassification": NotesBertForSequenceClassification,
    "AutoModelForTokenClassification": NotesBertForTokenClassification,
    "AutoModelForQuestionAnswering": NotesBertForQuestionAnswering,
    "AutoModelForMultipleChoice": NotesBertForMultipleChoice,
}
register_auto_classes(NotesBertConfig, NotesBertPreTrainedModel, AUTO_CLASSES)

__all__ = [
    "AUTO_CLASSES",
    "NotesBertPreTrainedModel",
    "NotesBertModel",
    "NotesBertForPreTraining",
    "NotesBertForMaskedLM",
    "NotesBertForNextSentencePrediction",
    "NotesBertForSequenceClassification",
    "NotesBertForTokenClassification",
    "NotesBertForQuestionAnswering",
    "NotesBertForMultipleChoice",
]
