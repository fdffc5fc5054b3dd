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
from .models.configuration_notes_transformer import NotesTransformerConfig
from .models.modeling_notes_transformer import (
    NotesTransformerForConditionalGeneration,
    NotesTransformerModel,
    NotesTransformerPreTrainedModel,
)
from .models.tokenization_notes_transformer import NotesTransformerTokenizer
from .models.configuration_notes_resnet import NotesResNetConfig
from .models.image_processing_notes_resnet import NotesResNetImageProcessor
from .models.modeling_notes_resnet import (
    NotesResNetBackbone,
    NotesResNetForImageClassification,
    NotesResNetModel,
    NotesResNetPreTrainedModel,
)
from .models.configuration_notes_elmo import NotesElmoConfig
from .models.modeling_notes_elmo import (
    NotesElmoForBidirectionalLM,
    NotesElmoForSequenceClassification,
    NotesElmoForTokenClassification,
    NotesElmoModel,
    NotesElmoPreTrainedModel,
)
from .models.tokenization_notes_elmo import NotesElmoTokenizer
from .models.notes_attention import NotesMultiHeadAttention, eager_attention_forward
from .models.notes_layers import (
    Highway,
    PrepackableLinear,
    ScalarMix,
    SqueezeExcitation,
    prepacked_linears,
    sinusoidal_positional_encoding,
)
from .presets import list_presets, load_preset
from .pipelines import (
    ExtractiveQuestionAnsweringPipeline,
    NotesText2TextGenerationPipeline,
    NotesTranslationPipeline,
    register_pipelines,
)
from .registration import register_all
from . import trainer_integration

register_all()
register_pipelines()
trainer_integration.install()

from .converters.bert import convert_transformers_bert  # noqa: E402  (converters use the registered classes)
from .converters.resnet import convert_resnet  # noqa: E402
from .converters.elmo import convert_allennlp_elmo  # noqa: E402
