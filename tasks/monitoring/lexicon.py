"""The lexicon the scans and the sentiment model use: config/lexicon.toml as the plain data the pure analysis takes."""

from __future__ import annotations

from config.files import load_lexicon
from tasks.monitoring.analysis import CategoryTerms, LexiconData


def lexicon_data() -> LexiconData:
    """Return config/lexicon.toml as the plain data the pure analysis takes."""
    lexicon = load_lexicon()
    return LexiconData(
        brands={name: b.aliases for name, b in lexicon.brands.items()},
        products={name: b.products for name, b in lexicon.brands.items()},
        categories={name: CategoryTerms(c.any, c.exclude, c.required_groups) for name, c in lexicon.categories.items()},
        critical=lexicon.critical,
        slang=lexicon.slang,
    )
