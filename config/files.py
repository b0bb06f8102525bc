"""Typed views of the operator-editable TOML files in the config directory.

Each loader validates the whole file and raises SettingsError naming the file and the key.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from config.detection import load_detection
from config.drills import load_drills
from config.loading import ConfigFileError, StrictModel, load_file
from config.settings import SettingsError, get_settings
from tasks.incidents.state import LEVELS, Level


class Brand(StrictModel):
    aliases: list[str] = Field(min_length=1)
    products: list[str] = []
    # The product category the brand sells in (e.g. 厨房电器): share of voice is counted within it, and a
    # competitor's crisis in it warns the owners of our products in it.
    category: str | None = None


class Competitor(Brand):
    """A rival brand (竞争对手): read, analysed and stored like ours, never opens an incident of ours."""

    category: str = Field(min_length=1)


class CategoryRule(StrictModel):
    any: list[str] = Field(min_length=1)
    exclude: list[str] = []
    # Every entry must be found in a post; "A|B" is found when A or B is.
    required: list[str] = []
    # Every `any` term is also a claim (like `health_claims`): a post that names a watched brand or product and
    # falls in this category is negative whatever its tone, unless it denies the term or refutes the story.
    claims: bool = False

    @field_validator("any", "exclude")
    @classmethod
    def _no_empty_term(cls, terms: list[str]) -> list[str]:
        if any(not term.strip() for term in terms):
            raise ValueError("空词条会匹配所有帖子")
        return terms

    @field_validator("required")
    @classmethod
    def _groups(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            if any(not alternative.strip() for alternative in entry.split("|")):
                raise ValueError(f"{entry!r}：其中的空选项会匹配所有帖子")
        return entries

    @property
    def required_groups(self) -> list[tuple[str, ...]]:
        return [tuple(a.strip() for a in entry.split("|")) for entry in self.required]


class Lexicon(StrictModel):
    critical: list[str] = []
    slang: list[str] = []
    # A post naming a watched brand or product with one of these is negative whatever its tone.
    health_claims: list[str] = []
    # A post with one of these refutes a story (辟谣): a debunk, never a complaint.
    debunk: list[str] = []
    brands: dict[str, Brand]
    # Rivals watched for reputation and early warning (同类风险预警); their names never overlap ours.
    competitors: dict[str, Competitor] = {}
    categories: dict[str, CategoryRule]

    @model_validator(mode="after")
    def _competitors_are_not_ours(self) -> Lexicon:
        ours = {name for brand, spec in self.brands.items() for name in (brand, *spec.aliases, *spec.products)}
        for rival, spec in self.competitors.items():
            for name in (rival, *spec.aliases, *spec.products):
                if name in ours:
                    raise ValueError(f"competitors.{rival}：{name} 也是我们自己的品牌或产品名，竞品不能与之重名")
        return self


def _has_a_threshold(level: Level) -> Level:
    if level == Level.IV:
        raise ValueError(f"{level} 级没有阈值：低于 {Level.III} 级的即为 {level} 级")
    return level


# A level a threshold can raise an incident to: any but the lowest.
ThresholdLevel = Annotated[Level, AfterValidator(_has_a_threshold)]


class Severity(StrictModel):
    heat: dict[ThresholdLevel, float]
    category_floor: dict[str, Level] = {}
    affected_orders: dict[ThresholdLevel, int] = {}
    level_steps: dict[Level, list[str]] = {}


# What our SMTP path can deliver to: an ASCII local part (no leading, trailing or double dots) and a domain
# of two labels or more. Anything else would be refused by the server, or worse, smuggled into a header.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def address_problem(address: str) -> str | None:
    """Return why mail cannot go to `address` (Chinese, one line), or None when it can."""
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL.match(local) or not _DOMAIN.match(domain) or len(address) > 254:
        return f"{address!r} 不是有效的电子邮件地址（应形如 name@shop.example）"
    return None


class Person(StrictModel):
    name: str
    # Checked by address_problem, not here: one bad address must not silence the whole roster at send time
    # (its own messages fail, named); `crisis config check` and `crisis up` name it before that.
    email: str
    roles: list[str] = Field(min_length=1)
    # Told instead of this person during their quiet hours (never for level I).
    deputy: str | None = None
    # "HH:MM-HH:MM" in the operators' time zone; may wrap midnight ("23:00-07:00").
    quiet_hours: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    # Mainland mobile number: @-mentioned in group robots (DingTalk, WeCom text) and sent the level-I SMS.
    mobile: str | None = Field(None, pattern=r"^1\d{10}$")
    # The person's user id on each chat platform (WeCom userid, DingTalk userId, Feishu open_id), for @-mentions.
    chat_ids: dict[Literal["wecom", "dingtalk", "feishu"], str] = {}
    # The product categories (lexicon.toml brands.*.category) whose products of ours this person owns: told, with
    # the PR lead, when a competitor in one of them has a crisis (同类风险预警).
    product_categories: list[str] = []


class NotifyMatrix(StrictModel):
    # One field per Level, named as the level: roster.toml's [notify] keys are the plan's level names.
    I: list[str]  # noqa: E741 - the plan names the top level I
    II: list[str]
    III: list[str]
    IV: list[str]
    by_category: dict[str, list[str]] = {}

    def by_level(self) -> dict[Level, list[str]]:
        """Return the roles told at each level, most severe first."""
        return {level: getattr(self, level) for level in LEVELS}


class EscalationTier(StrictModel):
    name: str
    roles: list[str] = []
    # Also tell the deputies of everyone told so far.
    deputies: bool = False


class Escalation(StrictModel):
    tiers: list[EscalationTier] = []


class Drafts(StrictModel):
    roles: list[str] = ["pr"]
    levels: list[Level] = [Level.I, Level.II, Level.III]


class DeliveryReport(StrictModel):
    report_to: list[str] = ["scribe"]


ChannelKind = Literal["wecom", "dingtalk", "feishu", "sms"]
SIGNED_KINDS = ("dingtalk", "feishu", "sms")  # the kinds that need a signing secret besides their key


class Channel(StrictModel):
    """A group robot (企业微信, 钉钉, 飞书) or the SMS gateway; tasks/notify/robots.py sends to it.

    Secrets are never here: `key_env` / `key_block` name where the webhook key (WeCom `key`, DingTalk
    `access_token`, Feishu hook token, SMS AccessKey ID) is, `secret_env` / `secret_block` the signing secret.
    """

    kind: ChannelKind
    url: str = Field(pattern=r"^https?://[^?#]+$")
    levels: list[Level] = Field([Level.I, Level.II], min_length=1)
    # Robots: whose on-duty holder is @-mentioned at levels I and II. SMS: who gets the message.
    roles: list[str] = []
    key_env: str | None = None
    key_block: str | None = None
    secret_env: str | None = None
    secret_block: str | None = None
    # SMS only: the approved template and signature (签名) of the cloud SMS service.
    template: str | None = None
    sign_name: str | None = None
    timeout_seconds: float = Field(10, gt=0)

    @field_validator("key_env", "secret_env")
    @classmethod
    def _env_not_a_setting(cls, value: str | None) -> str | None:
        return _no_crisis_prefix(value)

    @model_validator(mode="after")
    def _has_what_its_kind_needs(self) -> Channel:
        if bool(self.key_env) == bool(self.key_block):
            raise ValueError("key_env 与 key_block（webhook 密钥所在）须填且只填一个")
        if self.kind in SIGNED_KINDS and bool(self.secret_env) == bool(self.secret_block):
            raise ValueError(f"{self.kind} 渠道需要 secret_env 或 secret_block（签名密钥），须填且只填一个")
        if self.kind == "sms" and not (self.template and self.sign_name and self.roles):
            raise ValueError("sms 渠道需要 template、sign_name 和 roles（收短信的人）")
        return self


ChannelName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class Roster(StrictModel):
    roles: dict[str, str]
    people: list[Person]
    notify: NotifyMatrix
    escalation: Escalation = Escalation()
    drafts: Drafts = Drafts()
    delivery: DeliveryReport = DeliveryReport()
    channels: dict[ChannelName, Channel] = {}

    def channel_problems(self) -> list[tuple[str, str]]:
        """Return (field, problem) for each person an SMS channel must reach who has no mobile number."""
        return [(f"channels.{name}.roles", f"{p.name} 没有手机号（people.*.mobile），收不到短信")
                for name, channel in self.channels.items() if channel.kind == "sms"
                for p in self.people if set(channel.roles) & set(p.roles) and not p.mobile]

    def address_problems(self) -> list[tuple[str, str]]:
        """Return (field, problem) for each person whose address cannot be mailed, e.g. people.2.email."""
        return [(f"people.{n}.email", f"{p.name}: {problem}") for n, p in enumerate(self.people)
                if (problem := address_problem(p.email))]


class Policy(StrictModel):
    """One compensation policy; tasks/compensation/policy.py says what each field means."""

    kind: Literal["full_refund", "partial_refund", "fixed_coupon", "percent_coupon", "points"]
    title: str
    amount_fen: int | None = Field(None, gt=0)
    percent: Decimal | None = Field(None, gt=0, le=100, decimal_places=2)
    cap_fen: int | None = Field(None, gt=0)
    points: int | None = Field(None, gt=0)
    one_per_customer: bool = True
    window_before_days: int = Field(30, ge=0)
    window_end: Literal["detected_at", "now"] = "detected_at"
    products: list[str] = []
    skus: list[str] = []
    approval_limit_fen: int | None = Field(None, ge=0)
    approval_limit_points: int | None = Field(None, ge=0)
    # The approver of a batch above the limit must be someone other than its requester (四眼原则).
    four_eyes: bool = True
    # An order partly refunded (退款金额 below the amount paid): compensated on what remains, or excluded.
    partly_refunded: Literal["remainder", "exclude"] = "remainder"

    @model_validator(mode="after")
    def _has_what_its_kind_needs(self) -> Policy:
        needs = {"fixed_coupon": ["amount_fen"], "partial_refund": ["percent"],
                 "percent_coupon": ["percent", "cap_fen"], "points": ["points"], "full_refund": []}
        missing = [name for name in needs[self.kind] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.kind} 策略需要 {'、'.join(missing)}")
        return self


class OrdersQuery(StrictModel):
    """A named query against the shop's orders database (CRISIS_ORDERS_DATABASE_URL)."""

    sql: str
    format: Literal["auto", "generic", "taobao", "jd"] = "auto"


class Policies(StrictModel):
    approval_timeout_hours: float = Field(24, gt=0)
    policies: dict[str, Policy]
    queries: dict[str, OrdersQuery] = {}
    statuses: dict[str, Literal["unpaid", "paid", "shipped", "completed", "refunded", "cancelled"]] = {}


MentionField = Literal["id", "text", "author", "reach", "published_at", "url", "platform", "repost_of", "reposts",
                       "comments", "likes"]


class _Source(StrictModel):
    """What every mention source has: a name, a switch, a timeout and its retry policy for transient errors."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    enabled: bool = True
    # Stored with each mention as its platform (e.g. "微博") unless the record names one.
    platform: str | None = Field(None, max_length=64)
    timeout_seconds: float = Field(30, gt=0)
    # Tries per request (the first included); only timeouts, dropped connections, 429 and 5xx are retried,
    # after backoff_seconds · 2^(try-1) (at most max_backoff_seconds) ± jitter, or the server's Retry-After.
    attempts: int = Field(4, ge=1, le=10)
    backoff_seconds: float = Field(1.0, ge=0)
    max_backoff_seconds: float = Field(60, ge=0)
    jitter: float = Field(0.5, ge=0, le=1)


class _Mapped(_Source):
    # Our field -> the record's field; a dotted path reaches into nested JSON ("user.followers_count").
    fields: dict[MentionField, str] = {}


def _no_crisis_prefix(name: str | None) -> str | None:
    if name and name.upper().startswith("CRISIS_"):
        raise ValueError(f"{name}: CRISIS_* 开头的变量是系统设置，请给密钥换个名字")
    return name


class FileSource(_Mapped):
    """A drop folder of exports (JSONL, CSV, XLSX); each complete file is read once."""

    kind: ClassVar[str] = "file"
    glob: str | list[str]
    format: Literal["auto", "jsonl", "csv", "xlsx"] = "auto"
    encoding: Literal["auto", "utf-8", "gbk", "gb18030"] = "auto"
    sheet: str | None = None
    # A file modified less than this long ago may still be being written: it waits for the next scan.
    settle_seconds: float = Field(5, ge=0)

    @property
    def globs(self) -> list[str]:
        return [self.glob] if isinstance(self.glob, str) else list(self.glob)


class RssSource(_Source):
    """An RSS or Atom feed (media monitoring)."""

    kind: ClassVar[str] = "rss"
    url: str = Field(pattern=r"^https?://")
    headers: dict[str, str] = {}


class HttpSource(_Mapped):
    """A platform's JSON API: URL template, secret auth header, cursor or page pagination, rate limit."""

    kind: ClassVar[str] = "http"
    # {cursor}, {page}, {page_size} and {since} are filled in, in the URL and in `params`;
    # a parameter that renders empty is left out.
    url: str = Field(pattern=r"^https?://")
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    auth_header: str = "Authorization"
    auth_prefix: str = "Bearer "
    token_env: str | None = None
    token_block: str | None = None
    items: str = "items"
    pagination: Literal["none", "cursor", "page"] = "none"
    next_cursor: str = "next_cursor"
    page_start: int = Field(1, ge=0)
    page_size: int = Field(100, gt=0)
    max_pages: int = Field(50, gt=0)
    since_format: Literal["iso", "epoch", "epoch_ms"] = "iso"
    initial_since: str | None = None
    rate_per_second: float = Field(5, gt=0)

    @field_validator("token_env")
    @classmethod
    def _token_env_not_a_setting(cls, value: str | None) -> str | None:
        return _no_crisis_prefix(value)

    @model_validator(mode="after")
    def _pagination_has_its_placeholder(self) -> HttpSource:
        placeholder = {"cursor": "{cursor}", "page": "{page}"}.get(self.pagination)
        if placeholder and placeholder not in self.url + "".join(self.params.values()):
            raise ValueError(f"{self.pagination} 分页需要在 url 或 params 中写 {placeholder}")
        if self.token_env and self.token_block:
            raise ValueError("token_env 与 token_block 只能填一个")
        return self


class SqlSource(_Mapped):
    """The shop's own database (reviews, service tickets), read-only, incremental by a watermark column."""

    kind: ClassVar[str] = "sql"
    url: str | None = None
    url_env: str | None = None
    url_block: str | None = None
    # One SELECT with a :watermark parameter, ordered by the watermark column.
    query: str
    watermark: str
    initial_watermark: str | int | float
    max_rows: int = Field(100_000, gt=0)

    @field_validator("url_env")
    @classmethod
    def _url_env_not_a_setting(cls, value: str | None) -> str | None:
        return _no_crisis_prefix(value)

    @model_validator(mode="after")
    def _one_url_and_a_select(self) -> SqlSource:
        if sum(bool(v) for v in (self.url, self.url_env, self.url_block)) != 1:
            raise ValueError("url、url_env、url_block 须填且只填一个")
        if not re.match(r"^\s*(select|with)\b", self.query, re.IGNORECASE) or ";" in self.query.strip().rstrip(";"):
            raise ValueError("query 必须是一条 SELECT（或 WITH … SELECT）语句")
        if ":watermark" not in self.query:
            raise ValueError("query 必须使用 :watermark 参数")
        return self


AnySource = FileSource | RssSource | HttpSource | SqlSource


class Sources(StrictModel):
    file: list[FileSource] = []
    rss: list[RssSource] = []
    http: list[HttpSource] = []
    sql: list[SqlSource] = []

    @model_validator(mode="after")
    def _names_unique(self) -> Sources:
        names = [s.name for s in self.all()]
        twice = sorted({n for n in names if names.count(n) > 1} | ({"manual"} & set(names)))
        if twice:
            raise ValueError(f"来源名称不能重复，也不能是 'manual'：{twice}")
        return self

    def all(self) -> list[AnySource]:
        """Return every source, in file order by kind."""
        return [*self.file, *self.rss, *self.http, *self.sql]

    def get(self, name: str) -> AnySource:
        """Return the source with this name or raise SettingsError."""
        for source in self.all():
            if source.name == name:
                return source
        raise SettingsError(f"sources.toml: 没有名为 {name!r} 的来源")


class SentimentSeeds(StrictModel):
    """config/sentiment.toml: seed words of the default sentiment model and how much each counts."""

    negative: list[str] = Field(min_length=1)
    positive: list[str] = Field(min_length=1)
    weight: int = Field(1, ge=0, strict=True)  # each seed counts as this many one-phrase texts
    hownet_weight: int = Field(0, ge=0, strict=True)  # each HowNet word likewise; 0 leaves them out


def load_sentiment_seeds() -> SentimentSeeds:
    """Return sentiment.toml, read afresh (it is read once, when the default model is built)."""
    return load_file("sentiment.toml", SentimentSeeds)


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Return brands, categories and critical terms from lexicon.toml."""
    return load_file("lexicon.toml", Lexicon)


@lru_cache(maxsize=1)
def load_severity() -> Severity:
    """Return the severity matrix from severity.toml."""
    return load_file("severity.toml", Severity)


@lru_cache(maxsize=1)
def load_roster() -> Roster:
    """Return the emergency organisation from roster.toml, checking every role is declared."""
    roster = load_file("roster.toml", Roster)
    path = get_settings().config_dir / "roster.toml"
    declared = set(roster.roles)
    used = {r for p in roster.people for r in p.roles}
    used |= {r for roles in roster.notify.by_level().values() for r in roles}
    used |= {r for roles in roster.notify.by_category.values() for r in roles}
    used |= {r for tier in roster.escalation.tiers for r in tier.roles}
    used |= set(roster.drafts.roles) | set(roster.delivery.report_to)
    used |= {r for channel in roster.channels.values() for r in channel.roles}
    if used - declared:
        raise ConfigFileError(path, [("roles", f"这些角色未在 [roles] 中声明：{sorted(used - declared)}")])
    names = {p.name for p in roster.people}
    unknown = sorted({p.deputy for p in roster.people if p.deputy and p.deputy not in names})
    if unknown:
        raise ConfigFileError(path, [("", f"代理人（people.*.deputy）不在 [[people]] 名单中：{unknown}")])
    return roster


@lru_cache(maxsize=1)
def load_policies() -> Policies:
    """Return the compensation policies from compensation.toml."""
    return load_file("compensation.toml", Policies)


@lru_cache(maxsize=1)
def load_sources() -> Sources:
    """Return the configured mention sources from sources.toml."""
    return load_file("sources.toml", Sources)


def clear_caches() -> None:
    """Forget every loaded file and the settings (tests and config reloads)."""
    load_detection.cache_clear()
    load_drills.cache_clear()
    get_settings.cache_clear()
    for loader in (load_lexicon, load_severity, load_roster, load_policies, load_sources, load_playbooks):
        loader.cache_clear()


class DebunkPath(StrictModel):
    steps: list[str] = []


class Playbooks(StrictModel):
    steps: dict[str, list[str]]
    commitments: dict[str, list[str]] = {}
    # The 辟谣 path for an incident marked a possible rumour (谣言).
    debunk: DebunkPath = DebunkPath()

    def for_category(self, category: str) -> list[str]:
        """Return the category's steps, or the default ones."""
        return self.steps.get(category) or self.steps.get("default", [])

    def commitments_for(self, category: str) -> list[str]:
        """Return what the public drafts promise for the category, or the default promises."""
        return self.commitments.get(category) or self.commitments.get("default", [])


@lru_cache(maxsize=1)
def load_playbooks() -> Playbooks:
    """Return the playbook steps from playbooks.toml."""
    return load_file("playbooks.toml", Playbooks)
