"""Training: Trainer lowers the biLM loss (full and sampled softmax); the downstream heads learn with a frozen biLM."""

import pytest
import torch
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

import hf_nlpnotes  # noqa: F401
from hf_nlpnotes import (
    NotesElmoForBidirectionalLM,
    NotesElmoForSequenceClassification,
    NotesElmoForTokenClassification,
    NotesElmoTokenizer,
    load_preset,
)
from hf_nlpnotes.models.modeling_notes_elmo import sampled_softmax_loss

datasets = pytest.importorskip("datasets")

TEXTS = [
    "the cat sat on the mat",
    "the dog sat on the rug",
    "a cat ran to the dog",
    "the dog ran to a cat",
    "a bird sat on the cat",
    "the mat is on the floor",
] * 4


def trainer_for(model, dataset, tokenizer, tmp_path, steps, learning_rate=1e-2):
    arguments = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=steps,
        per_device_train_batch_size=8,
        learning_rate=learning_rate,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    return Trainer(
        model=model,
        args=arguments,
        train_dataset=dataset,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
    )


@pytest.mark.parametrize("sampled", [0, 8])
def test_trainer_lowers_the_bilm_loss(tmp_path, sampled):
    tokenizer = NotesElmoTokenizer.build_from_texts(TEXTS)
    dataset = datasets.Dataset.from_dict({"text": TEXTS}).map(
        lambda batch: tokenizer(batch["text"], return_lm_labels=True), batched=True, remove_columns=["text"]
    )
    torch.manual_seed(0)
    config = load_preset("elmo-tiny", vocab_size=tokenizer.vocab_size, sampled_softmax_num_samples=sampled, dropout=0.0)
    model = NotesElmoForBidirectionalLM(config)
    evaluation = DataCollatorWithPadding(tokenizer)([dataset[i] for i in range(len(TEXTS))])

    def full_softmax_loss():
        model.eval()
        with torch.no_grad():
            output = model(**evaluation)
        assert output.forward_logits.shape[-1] == tokenizer.vocab_size  # eval uses the full softmax
        return output.loss.item(), output.forward_loss.item(), output.backward_loss.item()

    before = full_softmax_loss()
    trainer_for(model, dataset, tokenizer, tmp_path, steps=40, learning_rate=3e-2).train()
    after = full_softmax_loss()
    assert after[0] < before[0] - 0.3
    assert after[1] < before[1] and after[2] < before[2]  # both directions learn


def test_sampled_softmax_loss_follows_the_tensorflow_definition():
    """TF's sampled_softmax_loss (log-uniform sampler, remove_accidental_hits=True), written out row by row with the
    same draw: logit - log(expected count) for the true word and each sample, samples equal to the true word removed."""
    import math

    torch.manual_seed(0)
    hidden, weight, bias = torch.randn(6, 4), torch.randn(50, 4), torch.randn(50)
    targets = torch.tensor([0, 1, 3, 3, 49, 7])
    torch.manual_seed(1)
    loss = sampled_softmax_loss(hidden, targets, weight, bias, num_samples=10)
    torch.manual_seed(1)
    probabilities = torch.tensor([math.log((k + 2) / (k + 1)) / math.log(51) for k in range(50)])
    sampled = torch.multinomial(probabilities, 10, replacement=True)
    assert (sampled == 0).any() or (sampled == 1).any()  # frequent words get drawn: accidental hits are exercised
    expected = []
    for row, target in enumerate(targets.tolist()):
        scores = [hidden[row] @ weight[target] + bias[target] - math.log(10 * probabilities[target])]
        scores += [hidden[row] @ weight[j] + bias[j] - math.log(10 * probabilities[j]) for j in sampled.tolist() if j != target]
        expected.append(-torch.log_softmax(torch.stack(scores), dim=0)[0])
    torch.testing.assert_close(loss, torch.stack(expected).mean(), atol=1e-5, rtol=1e-5)


def test_sequence_classification_learns_with_frozen_bilm(tmp_path):
    tokenizer = NotesElmoTokenizer()
    texts = ["good great fine nice", "bad awful poor sad", "nice good", "sad bad poor"] * 6
    labels = [1, 0, 1, 0] * 6
    dataset = datasets.Dataset.from_dict({"text": texts, "label": labels}).map(
        lambda batch: tokenizer(batch["text"]), batched=True, remove_columns=["text"]
    )
    torch.manual_seed(0)
    # the fast LSTM path keeps this test quick; the layer-normalised mix makes the tiny random features usable
    config = load_preset(
        "elmo-tiny", num_labels=2, lstm_implementation="fast", scalar_mix_layer_norm=True, classifier_dropout=0.0
    )
    model = NotesElmoForSequenceClassification(config)
    frozen = {name: p.clone() for name, p in model.elmo.named_parameters()}
    mix_before = model.scalar_mix.layer_weights.clone()
    trainer = trainer_for(model, dataset, tokenizer, tmp_path, steps=30, learning_rate=1e-2)
    trainer.train()
    model.eval()
    batch = DataCollatorWithPadding(tokenizer)([dataset[i] for i in range(4)])
    with torch.no_grad():
        predictions = model(**batch).logits.argmax(-1)
    assert predictions.tolist() == labels[:4]
    assert all(torch.equal(frozen[name], p) for name, p in model.elmo.named_parameters())
    assert not torch.equal(mix_before, model.scalar_mix.layer_weights)  # the mix is learned


def test_token_classification_learns(tmp_path):
    tokenizer = NotesElmoTokenizer()
    sentences = [["the", "cat", "ran"], ["a", "dog", "sat"], ["the", "bird", "flew", "away"]] * 6
    tags = [[0, 1, 2], [0, 1, 2], [0, 1, 2, 3]] * 6
    dataset = datasets.Dataset.from_dict({"words": sentences, "tags": tags}).map(
        lambda batch: tokenizer(batch["words"], is_split_into_words=True, word_labels=batch["tags"]),
        batched=True,
        remove_columns=["words", "tags"],
    )
    torch.manual_seed(0)
    model = NotesElmoForTokenClassification(load_preset("elmo-tiny", num_labels=4, lstm_implementation="fast"))
    trainer = trainer_for(model, dataset, tokenizer, tmp_path, steps=40, learning_rate=3e-2)
    trainer.train()
    history = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    losses_before, losses_after = history[0], history[-1]
    assert losses_after < losses_before / 2
    model.eval()
    batch = DataCollatorWithPadding(tokenizer)([dataset[i] for i in range(3)])
    with torch.no_grad():
        predictions = model(**batch).logits.argmax(-1)
    real = batch["labels"] != -100
    assert (predictions[real] == batch["labels"][real]).float().mean() >= 0.8
