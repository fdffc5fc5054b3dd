"""Validation shared by every hf_nlpnotes config.

transformers 5 configs are dataclasses whose field types are not checked for subclasses, so a wrong value
would otherwise surface deep inside a forward pass. Each check raises a ValueError naming the config class,
the field and the bad value.
"""

from transformers.activations import ACT2FN


def _fail(config, field: str, value, expected: str):
    raise ValueError(f"{type(config).__name__}.{field} must be {expected}, got {value!r}")


def check_positive_int(config, *fields: str):
    for field in fields:
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            _fail(config, field, value, "a positive integer")


def check_non_negative_int(config, *fields: str):
    for field in fields:
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            _fail(config, field, value, "a non-negative integer")


def check_positive_float(config, *fields: str):
    for field in fields:
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            _fail(config, field, value, "a positive number")


def check_probability(config, *fields: str, allow_none: bool = False):
    """Dropout-like probabilities: in [0, 1)."""
    for field in fields:
        value = getattr(config, field)
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            _fail(config, field, value, "a probability in [0, 1)")


def check_activation(config, *fields: str):
    for field in fields:
        value = getattr(config, field)
        if not isinstance(value, str) or value not in ACT2FN:
            _fail(config, field, value, f"one of the activations {sorted(ACT2FN)}")


def check_choice(config, field: str, choices):
    value = getattr(config, field)
    if value not in choices:
        _fail(config, field, value, f"one of {list(choices)}")


def check_divisible(config, field: str, divisor_field: str):
    value, divisor = getattr(config, field), getattr(config, divisor_field)
    if value % divisor != 0:
        raise ValueError(
            f"{type(config).__name__}.{field} ({value}) must be divisible by {divisor_field} ({divisor})"
        )


def check_token_id(config, field: str, vocab_size_field: str = "vocab_size", allow_none: bool = True):
    value = getattr(config, field)
    if value is None and allow_none:
        return
    vocab_size = getattr(config, vocab_size_field)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < vocab_size:
        _fail(config, field, value, f"a token id in [0, {vocab_size_field}={vocab_size})")
