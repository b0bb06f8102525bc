"""The lexicon the scans and the sentiment model use: config/lexicon.toml as the plain data the pure analysis takes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from config.files import load_lexicon
from tasks.monitoring.analysis import CategoryTerms, LexiconData, simplified

# Brands watched in this context on top of lexicon.toml's (brand -> aliases): see `watching`.
_watched: ContextVar[Mapping[str, tuple[str, ...]]] = ContextVar("watched_brands",
                                                                  default=MappingProxyType({}))


@contextmanager
def watching(brands: Mapping[str, Sequence[str]]) -> Iterator[None]:
    """Watch more brands while the block runs, as entries under lexicon.toml's [brands] would (brand -> its
    aliases; a brand already there gains the aliases): `crisis replay` tries a name on an export without
    editing the file. Only this context sees them; a scan elsewhere reads the file alone."""
    token = _watched.set({**_watched.get(), **{name: tuple(aliases) for name, aliases in brands.items()}})
    try:
        yield
    finally:
        _watched.reset(token)


def lexicon_data() -> LexiconData:
    """Return config/lexicon.toml as the plain data the pure analysis takes.

    Every term found in text is read in simplified characters, as the analysis reads the text (an alias written
    麥當勞 finds 麦当劳 and 麥當勞 alike); the names of brands and rivals stay as written, as people see them."""
    lexicon = load_lexicon()
    brands = {name: list(b.aliases) for name, b in lexicon.brands.items()}
    for name, aliases in _watched.get().items():
        brands[name] = list(dict.fromkeys([*brands.get(name, []), *aliases]))
    return LexiconData(
        brands=_each(brands),
        products=_each({name: b.products for name, b in lexicon.brands.items()}),
        categories={name: CategoryTerms(_terms(c.any), _terms(c.exclude), [_terms(g) for g in c.required_groups])
                    for name, c in lexicon.categories.items()},
        critical=_terms(lexicon.critical),
        slang=_terms(lexicon.slang),
        health_claims=_terms(lexicon.health_claims),
        debunk=_terms(lexicon.debunk),
        competitors=_each({name: list(c.aliases) for name, c in lexicon.competitors.items()}),
        competitor_products=_each({name: c.products for name, c in lexicon.competitors.items()}),
        claim_categories=[name for name, c in lexicon.categories.items() if c.claims],
    )


def _terms(terms: Sequence[str]) -> list[str]:
    """Return the terms in simplified characters, each once, in their order."""
    return list(dict.fromkeys(simplified(list(terms))))


def _each(named: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {name: _terms(terms) for name, terms in named.items()}
