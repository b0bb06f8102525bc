"""The brands the simulated chatter is about, with their aliases and products, as config/lexicon.toml lists them.

Read through the config loader (`load_lexicon`, cached) when a generator runs, never at import time.
A brand without products is left out: every chatter template names a product.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.files import Lexicon, load_lexicon


@dataclass(frozen=True)
class Brand:
    """One watched brand as the chatter names it."""

    name: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """The watched brands in lexicon order (the order fixes the generated chatter for a seed)."""

    brands: tuple[Brand, ...]
    # The competitors (lexicon [competitors]): talked about only when a generator is asked for them.
    rivals: tuple[Brand, ...] = ()

    def brand(self, name: str) -> Brand:
        """Return the named brand (ours or a competitor), or raise ValueError listing the known ones."""
        for brand in (*self.brands, *self.rivals):
            if brand.name == name:
                return brand
        known = ", ".join(b.name for b in (*self.brands, *self.rivals))
        raise ValueError(f"unknown crisis_brand {name!r}; known: {known}")

    def first(self) -> Brand:
        """Return the first brand (the default crisis brand), or raise ValueError if there is none."""
        if not self.brands:
            raise ValueError("config/lexicon.toml lists no brand with products")
        return self.brands[0]

    def has_product(self, product: str) -> bool:
        """Tell whether some brand sells the product."""
        return any(product in brand.products for brand in self.brands)


def catalogue_of(lexicon: Lexicon) -> Catalogue:
    """Return the lexicon's brands and competitors that have at least one product."""
    return Catalogue(tuple(
        Brand(name, tuple(entry.aliases), tuple(entry.products))
        for name, entry in lexicon.brands.items() if entry.products
    ), tuple(Brand(name, tuple(entry.aliases), tuple(entry.products))
             for name, entry in lexicon.competitors.items() if entry.products))


def load_catalogue() -> Catalogue:
    """Return the brands of config/lexicon.toml (raise SettingsError if the file is invalid)."""
    return catalogue_of(load_lexicon())
