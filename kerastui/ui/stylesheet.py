"""The app's stylesheet: Textual's, with each CSS source parsed once per set of variables.

Textual parses the whole stylesheet again (``Stylesheet.reparse``) whenever a screen brings CSS of
its own and whenever the CSS is refreshed: a MODES app's first screen gets both before its first
frame, and each re-parse starts from an empty cache (a fresh ``Stylesheet``), so every source was
tokenized three times (~6 ms of the first frame, issue 26).  Here parsed rules are kept per source
text, location, scope and the CSS variables they were parsed with; a re-parse with the same
variables reuses them, and a new theme (new variables) parses afresh.  The rules themselves are
never changed after parsing (Textual's own cache hands the same ones out within a stylesheet).
"""

from __future__ import annotations

from typing import Any

from textual.css.stylesheet import RuleSet, Stylesheet

# (source text, location, defaults, tie breaker, scope, the variables) → its rules
_PARSED: dict[tuple[Any, ...], list[RuleSet]] = {}
_KEEP = 256  # sources × themes kept at most (a theme switched back and forth stays parsed)


class SharedStylesheet(Stylesheet):
    """A ``Stylesheet`` whose re-parses and copies share parsed rules (see the module's text)."""

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._variables_key: tuple[tuple[str, str], ...] | None = None

    def set_variables(self, variables: dict[str, str]) -> None:
        super().set_variables(variables)
        self._variables_key = None

    @property
    def variables_key(self) -> tuple[tuple[str, str], ...]:
        """The CSS variables this stylesheet parses with (the theme's), as a key of the shared cache."""
        if self._variables_key is None:
            self._variables_key = tuple(sorted(self._variables.items()))
        return self._variables_key

    def _parse_rules(self, css: str, read_from: Any, is_default_rules: bool = False, tie_breaker: int = 0,
                     scope: str = "") -> list[RuleSet]:
        key = (css, read_from, is_default_rules, tie_breaker, scope, self.variables_key)
        rules = _PARSED.get(key)
        if rules is None:
            rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
            if len(_PARSED) >= _KEEP:
                _PARSED.clear()
            _PARSED[key] = rules
        return rules

    def copy(self) -> Stylesheet:
        stylesheet = SharedStylesheet(variables=self._variables.copy())
        stylesheet.source = self.source.copy()
        return stylesheet

    def reparse(self) -> None:
        """Textual's ``reparse`` (a fresh stylesheet, so an error leaves this one as it was), made of
        this class: sources parsed before with these variables are not parsed again."""
        stylesheet = self.copy()
        try:
            stylesheet.parse()
        except Exception:
            self._invalid_css.update(stylesheet._invalid_css)
            raise
        self._rules = stylesheet.rules
        self._rules_map = None
        self.source = stylesheet.source
        self._require_parse = False
