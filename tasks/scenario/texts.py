"""The text of one simulated post: praise, neutral and sale talk, everyday complaints, crisis posts. Pure.

Brands come in as catalogue entries (names, aliases and products from the lexicon); the wording comes
from vocabulary.py, picked by the brand's kind of goods.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tasks.scenario.catalogue import Brand
from tasks.scenario.draws import weighted
from tasks.scenario.vocabulary import (
    CLOSERS,
    COMPLAINT_WEIGHTS,
    COMPLAINTS,
    CRISIS_CORES,
    CRISIS_FILLERS,
    CRISIS_FORMS,
    CRISIS_INTROS,
    ENDINGS,
    FILLERS,
    KIND,
    KOL_FORM,
    KOL_NAMES,
    NEUTRAL_FORMS,
    OPENERS,
    PRAISE,
    PRAISE_FORMS,
    PRODUCT_PRAISE,
    SERVICE_ADDENDA,
    SURGE_FORMS,
)

NEUTRAL_SHARE = 0.30


def decorate(rng: random.Random, text: str, fillers: Sequence[str] = FILLERS) -> str:
    """Return the text with an optional conversational filler in front."""
    return rng.choice(fillers) + text


def by_kind(table: dict[str, tuple[str, ...]], brand: str) -> tuple[str, ...]:
    """Return the entries for the brand's kind of goods, else the shared ("any") ones."""
    return table.get(KIND.get(brand, "any"), table["any"])


def everyday_text(rng: random.Random, brand: Brand) -> str:
    """Return praise or neutral talk about the brand; it holds no crisis-category term."""
    product = rng.choice(brand.products)
    values = {
        "brand": brand.name, "alias": rng.choice(brand.aliases), "product": product,
        "opener": rng.choice(OPENERS), "end": rng.choice(ENDINGS), "n": rng.randint(2, 9),
    }
    if rng.random() < NEUTRAL_SHARE:
        return decorate(rng, rng.choice(NEUTRAL_FORMS).format(**values))
    a, b, c = rng.sample(PRODUCT_PRAISE.get(product, ()) + PRAISE, 3)
    return decorate(rng, rng.choice(PRAISE_FORMS).format(a=a, b=b, c=c, **values))


def sale_text(rng: random.Random, brand: Brand) -> str:
    """Return sale-night talk about the brand; it holds no crisis-category term."""
    values = {"brand": brand.name, "alias": rng.choice(brand.aliases), "product": rng.choice(brand.products),
              "end": rng.choice(ENDINGS), "n": rng.randint(2, 9)}
    return decorate(rng, rng.choice(SURGE_FORMS).format(**values))


def complaint_text(rng: random.Random, brand: Brand) -> str:
    """Return a mild everyday complaint holding one crisis-category term."""
    category = weighted(rng, COMPLAINT_WEIGHTS)
    forms = by_kind(COMPLAINTS[category], brand.name)
    text = rng.choice(forms).format(brand=brand.name, product=rng.choice(brand.products))
    return decorate(rng, text + rng.choice(ENDINGS))


def crisis_values(rng: random.Random, brand: str, product: str, category: str, cores: int) -> dict[str, object]:
    """Return the format values of a crisis post, with `cores` distinct complaint phrases."""
    phrases = rng.sample(by_kind(CRISIS_CORES[category], brand), cores)
    if category != "售后服务" and rng.random() < 0.3:
        phrases[-1] += "，" + rng.choice(SERVICE_ADDENDA)
    return {
        "brand": brand, "product": product, "intro": rng.choice(CRISIS_INTROS),
        "close": rng.choice(CLOSERS).format(brand=brand), "end": rng.choice(("。", "！", "！！", "…")),
        "price": rng.randint(199, 499), **dict(zip("abc", phrases, strict=False)),
    }


def crisis_text(rng: random.Random, brand: str, product: str, category: str) -> str:
    """Return one clearly negative post about the product in the crisis category."""
    values = crisis_values(rng, brand, product, category, 2)
    return decorate(rng, rng.choice(CRISIS_FORMS).format(**values), CRISIS_FILLERS)


def kol_text_and_author(rng: random.Random, brand: str, product: str, category: str) -> tuple[str, str]:
    """Return a high-reach account's crisis post and the account, one of the brand's kind or a general one."""
    values = crisis_values(rng, brand, product, category, 3)
    # dict.fromkeys: a brand of no known kind draws from the general accounts once, not twice.
    accounts = tuple(dict.fromkeys(by_kind(KOL_NAMES, brand) + KOL_NAMES["any"]))
    return KOL_FORM.format(**values), rng.choice(accounts)
