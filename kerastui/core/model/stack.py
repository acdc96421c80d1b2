"""An editable layer stack with undo/redo: what the Model workspace edits, headless and testable."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from kerastui.core.model.specs import LayerSpec


@dataclass
class LayerStack:
    layers: list[LayerSpec] = field(default_factory=list)
    _undo: list[list[LayerSpec]] = field(default_factory=list, repr=False)
    _redo: list[list[LayerSpec]] = field(default_factory=list, repr=False)

    def _push(self) -> None:
        self._undo.append(copy.deepcopy(self.layers))
        self._redo.clear()

    def set(self, layers: list[LayerSpec]) -> None:
        """Replace the whole stack as one undoable step."""
        self._push()
        self.layers = copy.deepcopy(layers)

    def insert(self, index: int, spec: LayerSpec) -> int:
        index = max(0, min(index, len(self.layers)))
        self._push()
        self.layers.insert(index, copy.deepcopy(spec))
        return index

    def replace(self, index: int, spec: LayerSpec) -> None:
        self._push()
        self.layers[index] = copy.deepcopy(spec)

    def delete(self, index: int) -> int:
        self._push()
        del self.layers[index]
        return min(index, len(self.layers) - 1)

    def move(self, index: int, delta: int) -> int:
        target = index + delta
        if not (0 <= index < len(self.layers) and 0 <= target < len(self.layers)):
            return index
        self._push()
        self.layers[index], self.layers[target] = self.layers[target], self.layers[index]
        return target

    def duplicate(self, index: int) -> int:
        spec = copy.deepcopy(self.layers[index])
        if spec.name:
            names = {layer.name for layer in self.layers}
            n = 2
            while f"{spec.name}_{n}" in names:
                n += 1
            spec.name = f"{spec.name}_{n}"
        return self.insert(index + 1, spec)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.layers)
        self.layers = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.layers)
        self.layers = self._redo.pop()
        return True
