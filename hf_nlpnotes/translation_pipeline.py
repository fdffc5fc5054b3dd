"""The translation / text-to-text pipelines that transformers 5 removed, for encoder–decoder models.

transformers 5 dropped the "translation" and "text2text-generation" tasks (`pipeline("translation")` raised a
KeyError pointing to chat models), yet translation is what the encoder–decoder Transformer exists for.
`import hf_nlpnotes` registers these two pipelines under the original task names (as pipelines.py does for
"question-answering"), for any model with an `AutoModelForSeq2SeqLM` head:

    translator = pipeline("translation", model="out/translation")
    translator(["In the beginning God created the heavens and the earth."], num_beams=4)
    # [{"translation_text": "En el principio creó Dios los cielos y la tierra."}]

"text2text-generation" is the same pipeline returning `generated_text` instead of `translation_text`. Keyword
arguments of the call go to `generate()` (num_beams, max_new_tokens, do_sample, ...), except `truncation` /
`max_length`, which go to the tokenizer. Nothing else in transformers' pipeline registry is changed.
"""

import torch
from transformers import AutoModelForSeq2SeqLM, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY, REMOVED_TASKS

TOKENIZER_ARGUMENTS = ("truncation", "max_length")


class NotesText2TextGenerationPipeline(Pipeline):
    """Source text in, generated text out: tokenizer → `model.generate(**generate_kwargs)` → decode."""

    return_name = "generated"
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def _sanitize_parameters(self, **kwargs):
        preprocess_params = {key: kwargs.pop(key) for key in TOKENIZER_ARGUMENTS if key in kwargs}
        return preprocess_params, kwargs, {}

    def preprocess(self, inputs, truncation=True, max_length=None):
        if not isinstance(inputs, str):
            raise ValueError(f"{type(self).__name__} expects a string (or a list of strings), got {type(inputs)}")
        return self.tokenizer(inputs, truncation=truncation, max_length=max_length, return_tensors="pt")

    def _forward(self, model_inputs, **generate_kwargs):
        with torch.no_grad():
            return {"output_ids": self.model.generate(**model_inputs, **generate_kwargs)}

    def postprocess(self, model_outputs):
        texts = self.tokenizer.batch_decode(model_outputs["output_ids"], skip_special_tokens=True)
        return [{f"{self.return_name}_text": text} for text in texts]

    def __call__(self, inputs, **kwargs):
        outputs = super().__call__(inputs, **kwargs)
        # one input → its list of one result; a list of inputs → one result per input
        if isinstance(inputs, str):
            return outputs
        return [output[0] if isinstance(output, list) and len(output) == 1 else output for output in outputs]


class NotesTranslationPipeline(NotesText2TextGenerationPipeline):
    return_name = "translation"


def register_pipelines():
    for task, pipeline_class in (
        ("translation", NotesTranslationPipeline),
        ("text2text-generation", NotesText2TextGenerationPipeline),
    ):
        REMOVED_TASKS.pop(task, None)
        PIPELINE_REGISTRY.register_pipeline(
            task, pipeline_class=pipeline_class, pt_model=AutoModelForSeq2SeqLM, type="text"
        )
