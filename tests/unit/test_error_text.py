"""Error texts on screen: the exception's own words, its class name only where it is the information."""

from __future__ import annotations

from kerastui.core.errors import KerasTUIError, plain_message, user_message


def test_plain_message_drops_the_class_name_when_the_words_speak():
    error = ValueError("Input 0 of layer 'dense' is incompatible with the layer: expected axis -1 to be 20")
    assert plain_message(error) == "Input 0 of layer 'dense' is incompatible with the layer: expected axis -1 to be 20"
    assert plain_message(OSError(28, "No space left on device")) == "[Errno 28] No space left on device"


def test_plain_message_keeps_the_class_name_when_it_is_the_information():
    assert plain_message(KeyError("units")) == "KeyError: 'units'"
    assert plain_message(ZeroDivisionError()) == "ZeroDivisionError"
    assert plain_message(ValueError("nan")) == "ValueError: nan"
    assert plain_message(KerasTUIError("model.layers[2].units: must be ≥ 1")) == "model.layers[2].units: must be ≥ 1"
    # User code and internal errors keep it: their class is what the user raised, or what a bug report needs.
    assert user_message(ValueError("broken on purpose")) == "ValueError: broken on purpose"
