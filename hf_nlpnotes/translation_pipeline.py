"""A translation / text-to-text pipeline for hf_nlpnotes' encoder–decoder models.

transformers 5 removed its "translation" and "text2text-generation" pipelines (`pipeline("translation")` raises
KeyError and points to chat models), so this package registers the same behaviour under its own task names:

    translator = pipeline("notes-translation", model="out/translation")
    translator(["In the beginning God created the heavens and the earth."], num_beams=4)
    # [{"translation_text": "En el principio creó Dios los cielos y la tierra."}]

"notes-text2text-generation" is the same pipeline returning `generated_text` instead of `translation_text`.
Keyword arguments of the call are passed to `generate()` (num_beams, max_new_tokens, do_sample, ...), except
`truncation` / `max_length`, which go to the tokenizer.
"""

import torch
from transformers import AutoModelForSeq2SeqLM, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

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
    PIPELINE_REGISTRY.register_pipeline(
        "notes-translation", pipeline_class=NotesTranslationPipeline, pt_model=AutoModelForSeq2SeqLM, type="text"
    )
    PIPELINE_REGISTRY.register_pipeline(
        "notes-text2text-generation",
        pipeline_class=NotesText2TextGenerationPipeline,
        pt_model=AutoModelForSeq2SeqLM,
        type="text",
    )
