"""Pipelines that transformers 5 removed but that the classic architectures exist for.

transformers 5 dropped the `question-answering`, `translation` and `text2text-generation` tasks (it points users to
chat models), yet extractive QA is what `...ForQuestionAnswering` heads are for and translation is what the
encoder-decoder Transformer is for. `import hf_nlpnotes` registers these pipelines under the original task names, for
any model with an `AutoModelForQuestionAnswering` / `AutoModelForSeq2SeqLM` head:

    qa = pipeline("question-answering", model="path/to/bert-qa")
    translator = pipeline("translation", model="out/translation")
    translator(["In the beginning God created the heavens and the earth."], num_beams=4)

Nothing else in transformers' pipeline registry is changed.
"""

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoModelForSeq2SeqLM, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY, REMOVED_TASKS


class ExtractiveQuestionAnsweringPipeline(Pipeline):
    """Finds the answer span of `question` in `context`.

    Long contexts are split into overlapping windows (`max_seq_len`, `doc_stride`); the best span over all windows
    wins. Returns {"score", "start", "end", "answer"} (character offsets into the context), or a list of `top_k`
    such dicts.

        qa = pipeline("question-answering", model="path/to/bert-qa")
        qa(question="Who created the heavens?", context="In the beginning God created the heavens and the earth.")
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def _sanitize_parameters(self, top_k=None, max_answer_len=None, max_seq_len=None, doc_stride=None, **kwargs):
        preprocess = {}
        if max_seq_len is not None:
            preprocess["max_seq_len"] = max_seq_len
        if doc_stride is not None:
            preprocess["doc_stride"] = doc_stride
        postprocess = {}
        if top_k is not None:
            if top_k < 1:
                raise ValueError(f"top_k must be at least 1, got {top_k}")
            postprocess["top_k"] = top_k
        if max_answer_len is not None:
            if max_answer_len < 1:
                raise ValueError(f"max_answer_len must be at least 1, got {max_answer_len}")
            postprocess["max_answer_len"] = max_answer_len
        return preprocess, {}, postprocess

    def __call__(self, question=None, context=None, **kwargs):
        if isinstance(question, dict):
            question, context = question.get("question"), question.get("context")
        if isinstance(question, list):
            if not isinstance(context, list) or len(context) != len(question):
                raise ValueError("give as many contexts as questions")
            return [super(ExtractiveQuestionAnsweringPipeline, self).__call__({"question": q, "context": c}, **kwargs) for q, c in zip(question, context)]
        if not isinstance(question, str) or not isinstance(context, str) or not question.strip() or not context.strip():
            raise ValueError("question-answering needs a non-empty `question` and `context` string")
        return super().__call__({"question": question, "context": context}, **kwargs)

    def preprocess(self, inputs, max_seq_len=384, doc_stride=128):
        max_seq_len = min(max_seq_len, self.tokenizer.model_max_length)
        encoded = self.tokenizer(
            inputs["question"],
            inputs["context"],
            truncation="only_second",
            max_length=max_seq_len,
            stride=min(doc_stride, max_seq_len // 2),
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )
        # which tokens belong to the context, per window: only those can start or end an answer
        context_masks = torch.tensor(
            [[sequence_id == 1 for sequence_id in encoded.sequence_ids(i)] for i in range(len(encoded["input_ids"]))]
        )
        model_inputs = {k: v for k, v in encoded.items() if k in self.tokenizer.model_input_names}
        return {
            "model_inputs": model_inputs,
            "offsets": encoded["offset_mapping"],
            "context_masks": context_masks,
            "context": inputs["context"],
        }

    def _forward(self, inputs):
        outputs = self.model(**inputs["model_inputs"])
        return {**inputs, "start_logits": outputs.start_logits, "end_logits": outputs.end_logits}

    def postprocess(self, outputs, top_k=1, max_answer_len=15):
        candidates = []
        for window in range(outputs["start_logits"].shape[0]):
            allowed = outputs["context_masks"][window].numpy()
            start = _masked_softmax(outputs["start_logits"][window].float().numpy(), allowed)
            end = _masked_softmax(outputs["end_logits"][window].float().numpy(), allowed)
            # score of every (start, end) pair with start <= end < start + max_answer_len
            scores = np.triu(np.tril(np.outer(start, end), max_answer_len - 1))
            for flat in np.argsort(-scores, axis=None)[:top_k]:
                first, last = np.unravel_index(flat, scores.shape)
                if scores[first, last] <= 0:
                    continue
                char_start = int(outputs["offsets"][window][first][0])
                char_end = int(outputs["offsets"][window][last][1])
                candidates.append(
                    {"score": float(scores[first, last]), "start": char_start, "end": char_end,
                     "answer": outputs["context"][char_start:char_end]}
                )
        candidates.sort(key=lambda candidate: -candidate["score"])
        if not candidates:
            candidates = [{"score": 0.0, "start": 0, "end": 0, "answer": ""}]
        return candidates[0] if top_k == 1 else candidates[:top_k]


def _masked_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    logits = np.where(allowed, logits, -np.inf)
    if not np.isfinite(logits).any():
        return np.zeros_like(logits)
    exp = np.exp(logits - logits[np.isfinite(logits)].max())
    return exp / exp.sum()


# Keyword arguments of a translation / text2text call go to `generate()` (num_beams, max_new_tokens, do_sample, ...),
# except `truncation` / `max_length`, which go to the tokenizer.
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
    for task, pipeline_class, model_class in (
        ("question-answering", ExtractiveQuestionAnsweringPipeline, AutoModelForQuestionAnswering),
        ("translation", NotesTranslationPipeline, AutoModelForSeq2SeqLM),
        ("text2text-generation", NotesText2TextGenerationPipeline, AutoModelForSeq2SeqLM),
    ):
        REMOVED_TASKS.pop(task, None)
        PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=model_class, type="text")
