"""The lexicon the scans and the sentiment model use: config/lexicon.toml as the plain data the pure analysis takes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from config.files import load_lexicon
from tasks.monitoring.analysis import CategoryTerms, LexiconData

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
    """Return config/lexicon.toml as the plain data the pure analysis takes."""
    lexicon = load_lexicon()
    brands = {name: list(b.aliases) for name, b in lexicon.brands.items()}
    for name, aliases in _watched.get().items():
        brands[name] = list(dict.fromkeys([*brands.get(name, []), *aliases]))
    return LexiconData(
        brands=brands,
        products={name: b.products for name, b in lexicon.brands.items()},
        categories={name: CategoryTerms(c.any, c.exclude, c.required_groups) for name, c in lexicon.categories.items()},
        critical=lexicon.critical,
        slang=lexicon.slang,
        health_claims=lexicon.health_claims,
        debunk=lexicon.debunk,
        competitors={name: list(c.aliases) for name, c in lexicon.competitors.items()},
        competitor_products={name: c.products for name, c in lexicon.competitors.items()},
    )
