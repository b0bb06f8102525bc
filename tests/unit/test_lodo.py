"""The leave-one-domain-out check that chose the sentiment recipe (benchmarks/lodo.py): domains are
assigned only when unambiguous, and a held-out domain is never trained on."""

from __future__ import annotations

import pytest

from benchmarks.lodo import Review, assign_domain, balanced_accuracy, validate


@pytest.mark.parametrize(("text", "domain"), [
    ("酒店房间很干净，前台热情", "hotel"),
    ("这本书的作者写得真好", "book"),
    ("电脑屏幕太暗，散热也差", "computer"),
    ("酒店房间里的电脑坏了", None),  # two domains: ambiguous
    ("质量很好，物流也快", None),
])
def test_a_review_gets_the_one_domain_it_alone_mentions(text: str, domain: str | None) -> None:
    assert assign_domain(text) == domain


def test_balanced_accuracy_is_the_mean_recall_of_the_two_classes() -> None:
    # positives: 3 of 4 right; negatives: 1 of 2 right
    assert balanced_accuracy([0.9, 0.8, 0.7, 0.2, 0.1, 0.6], [True] * 4 + [False] * 2) == pytest.approx((0.75 + 0.5) / 2)


class _Spy:
    """A trainer that remembers what each model was trained on and scores every text by a fixed rule."""

    def __init__(self) -> None:
        self.trained: list[list[list[str]]] = []

    def __call__(self, negative: list[list[str]], positive: list[list[str]]) -> _Spy:
        self.trained.append(negative + positive)
        return self

    def probabilities(self, token_lists: list[list[str]]) -> list[float]:
        return [1.0 if "好" in tokens else 0.0 for tokens in token_lists]


def test_a_held_out_domain_is_never_in_its_own_training_set() -> None:
    reviews = [Review(domain, [domain or "none", str(i), word], word == "好")
               for i, domain in enumerate(["hotel", "book", "computer", None] * 3) for word in ("好", "差")]
    extras = ([["差评"]], [["好评"]])
    for training_set, unassigned_in in (("assigned", False), ("+unassigned", True)):
        spy = _Spy()
        scores = validate(reviews, extras, spy, training_set)
        assert scores == {"hotel": 1.0, "book": 1.0, "computer": 1.0, "mean": 1.0}
        for held, trained in zip(("hotel", "book", "computer"), spy.trained, strict=True):
            firsts = {tokens[0] for tokens in trained}
            assert held not in firsts, f"{held} was trained on while held out"
            assert {"hotel", "book", "computer"} - {held} <= firsts
            assert ("none" in firsts) is unassigned_in
            assert ["差评"] in trained and ["好评"] in trained, "the recipe's extra words are always in"
