"""Attention maps of a trained NotesTransformer for one sentence pair, as one PNG with three panels:
encoder self-attention, decoder masked self-attention (lower triangular: no token sees the future) and
encoder–decoder cross-attention. Each panel is one layer's attention averaged over its heads.

    python examples/plot_transformer_attention.py --model_dir out/translation \
        --source "In the beginning God created the heavens and the earth." \
        --target "En el principio creó Dios los cielos y la tierra." --output attention.png
"""

import argparse

import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

import hf_nlpnotes  # noqa: F401  (registers the architecture)
from hf_nlpnotes.plotting import plot_attention_maps


def attention_maps(model, tokenizer, source: str, target: str, layer: int = -1):
    """(maps, row labels, column labels, titles) for `plot_attention_maps`; the model must use eager attention."""
    if model.config._attn_implementation != "eager":
        raise ValueError("attention maps need attn_implementation='eager' (SDPA does not return them)")
    batch = tokenizer(source, text_target=target, return_tensors="pt")
    labels = batch.pop("labels")
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels)
    model.eval()
    with torch.no_grad():
        outputs = model(**batch, decoder_input_ids=decoder_input_ids, output_attentions=True)
    source_tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    decoder_tokens = tokenizer.convert_ids_to_tokens(decoder_input_ids[0])
    maps = [
        outputs.encoder_attentions[layer][0].mean(0).numpy(),
        outputs.decoder_attentions[layer][0].mean(0).numpy(),
        outputs.cross_attentions[layer][0].mean(0).numpy(),
    ]
    rows = [source_tokens, decoder_tokens, decoder_tokens]
    columns = [source_tokens, decoder_tokens, source_tokens]
    titles = ["encoder self-attention", "decoder masked self-attention", "cross-attention (decoder → encoder)"]
    return maps, rows, columns, titles


def plot_transformer_attention(model_dir: str, source: str, target: str, path: str, layer: int = -1) -> str:
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, attn_implementation="eager")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return plot_attention_maps(*attention_maps(model, tokenizer, source, target, layer), path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--output", default="attention_maps.png")
    parser.add_argument("--layer", type=int, default=-1, help="which layer of each stack (default: the last)")
    args = parser.parse_args()
    print(plot_transformer_attention(args.model_dir, args.source, args.target, args.output, args.layer))


if __name__ == "__main__":
    main()
