"""hf_nlpnotes: the classic architectures of modern NLP as Hugging Face transformers models.

`import hf_nlpnotes` registers every architecture with the transformers Auto classes.
"""

__version__ = "0.1.0"

from .models.configuration_notes_bert import NotesBertConfig
from .models.modeling_notes_bert import (
    NotesBertForMaskedLM,
    NotesBertForMultipleChoice,
    NotesBertForNextSentencePrediction,
    NotesBertForPreTraining,
    NotesBertForQuestionAnswering,
    NotesBertForSequenceClassification,
    NotesBertForTokenClassification,
    NotesBertModel,
    NotesBertPreTrainedModel,
)
from .models.tokenization_notes_bert import NotesBertTokenizer
from .models.notes_attention import NotesMultiHeadAttention, eager_attention_forward
from .models.notes_layers import Highway, ScalarMix, SqueezeExcitation, sinusoidal_positional_encoding
from .presets import list_presets, load_preset
from .registration import register_all

register_all()

from .converters.bert import convert_transformers_bert  # noqa: E402  (converters use the registered classes)
