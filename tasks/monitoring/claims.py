"""What a post claims, beyond its tone: a health scare (致癌, 禁用农药 …) or the refutation of a story (辟谣). Pure.

Both read the text itself, not the tokens: a term is found as written, then its few characters before
and after say whether the post means it. 青禾牛奶不含三聚氰胺 denies the claim; 这不是谣言 affirms the story;
求辟谣 asks for a denial nobody has given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# A clause ends at these: a cue in the previous clause says nothing of this one.
_CLAUSE_END = re.compile(r"[，,。．.！!？?；;：:\n、]")
# Just before a health claim: the post denies it (不含致癌物, 未检出三聚氰胺, 没有超标, 无有害物质) or praises a
# guard against it (防触电, 避免烫伤: a kettle's selling point, not an accident).
_DENIED = ("不", "没", "未", "无", "非", "零", "防", "避免", "杜绝")
# ... except where 不 does not deny: 不仅致癌, 不但超标, 不少…
_NOT_DENIALS = ("不仅", "不但", "不只", "不少", "不止")
# Just before a debunk word: the post affirms the story or asks whether it is true.
_AFFIRMED = ("不是", "并非", "绝非", "不算", "哪是", "非")
_ASKED = ("求", "等", "盼", "请", "要求", "希望", "需要", "没有", "没", "不")
# Just after: a question (是谣言吗？) is not a refutation.
_QUESTION = ("吗", "么", "？", "?")
# 网传…不实: a reported story called untrue later in the same sentence. 不实 alone is too loose (价格不实惠).
_REPORTED_UNTRUE = re.compile(r"(网传|传言|传闻|网曝)[^。！？!?\n]{0,40}?"
                              r"(不实(?![惠在用际践])|失实|是假的|系谣言|为谣言|纯属谣言|是谣言)")
# Longer words that hold a claim, a debunk or a category word and mean something else (超标准间, 重金属音乐,
# 不实在, 爆炸消息 = breaking news). The analysis blanks them before it looks for any lexicon term (HARMLESS), so
# "【爆炸消息：…收费】" is no explosion and no safety post; health_claims_in and is_debunk blank them too.
_HARMLESS = ("超标准", "重金属音乐", "重金属摇滚", "重金属风", "不实在", "不实惠", "不实用", "不实际",
             "爆炸消息", "爆炸性", "爆炸头", "信息爆炸", "知识爆炸", "人口爆炸", "爆炸式", "首次触电", "初次触电",
             "触电般", "触电的感觉", "苏联解体")
HARMLESS = re.compile("|".join(sorted(map(re.escape, _HARMLESS), key=len, reverse=True)))
_WINDOW = 4


def blank_harmless(text: str) -> str:
    """Return the text with every harmless longer word replaced by as many \x01 (positions kept)."""
    return HARMLESS.sub(lambda m: "\x01" * len(m.group()), text)


def _before(text: str, start: int) -> str:
    """Return up to _WINDOW characters before `start`, within its clause."""
    head = text[max(0, start - _WINDOW):start]
    cut = max((m.end() for m in _CLAUSE_END.finditer(head)), default=0)
    return head[cut:]


def occurrences(text: str, term: str) -> Iterable[int]:
    """Yield where `term` starts in `text`, overlapping occurrences included."""
    start = text.find(term)
    while start >= 0:
        yield start
        start = text.find(term, start + 1)


def _denied(before: str) -> bool:
    for cue in _NOT_DENIALS:
        before = before.replace(cue, "")
    return any(cue in before for cue in _DENIED)


def health_claims_in(text: str, claims: Sequence[str]) -> list[str]:
    """Return the health claims the text makes (in list order), leaving out those it denies (不含, 未检出 …) and
    those inside a harmless longer word (爆炸消息, 超标准间)."""
    text = blank_harmless(text)
    return [claim for claim in claims
            if any(not _denied(_before(text, at)) for at in occurrences(text, claim))]


# A warning not to consume or use something (不要吃, 别喝, 停止使用 …), with the name it is about just after it in
# the same clause: "最近都不要吃牛肉", "请立即停止使用微波炉". Not 要不要吃 (a question), 特别用心 / 分别用 (别 of
# another word). A warning about the watched name is a health claim about it, whatever the post's tone.
_WARNING = re.compile(r"(?:(?<!要)不要|不能|(?<![特区分告类级性识差个辨鉴离])别|勿|停止)再?(?:食用|饮用|使用|吃|喝|用)")
_WARNING_REACH = 10  # the name starts within this many characters after the warning


def warnings_about(text: str, names: Iterable[str]) -> list[str]:
    """Return each warning in the text not to eat, drink or use one of `names` (the watched brand's aliases and
    products), as written up to the end of the name: ["不要吃牛肉"]."""
    found = []
    for match in _WARNING.finditer(text):
        after = text[match.end():match.end() + _WARNING_REACH + 8]
        clause = _CLAUSE_END.search(after)
        after = after[:clause.start()] if clause else after
        starts = [(at, name) for name in names if name and 0 <= (at := after.find(name)) <= _WARNING_REACH]
        if starts:
            at, name = min(starts, key=lambda found: (found[0], -len(found[1])))  # 青禾牛奶 before 青禾
            found.append(text[match.start():match.end()] + after[:at] + name)
    return found


# Worth calling is_debunk only when one of these (or a debunk word) is in the text.
REPORT_CUES = ("不实", "失实", "是假的", "谣言")


def is_debunk(text: str, words: Sequence[str]) -> bool:
    """Return whether the text refutes a story: a debunk word neither affirmed (这不是谣言), asked for
    (求辟谣) nor asked about (是谣言吗), or a reported story called untrue (网传…不实)."""
    if _REPORTED_UNTRUE.search(text):
        return True
    text = blank_harmless(text)
    for word in words:
        for at in occurrences(text, word):
            before, after = _before(text, at), text[at + len(word):at + len(word) + 1]
            if any(cue in before for cue in (*_AFFIRMED, *_ASKED)) or after in _QUESTION:
                continue
            return True
    return False


def reading_note(debunk: bool, health_claims: Sequence[str]) -> str:
    """Return why a post's label is not its tone alone ("" when it is): it debunks a story, or makes health,
    accident or fraud claims (风险说法)."""
    if debunk:
        return "辟谣：不计为负面"
    if health_claims:
        return f"风险说法：{'、'.join(health_claims)}"
    return ""
