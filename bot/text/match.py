"""Rank experts for an order: profile n-grams, symptom lexicon, history, region, load, embedding."""

# The text-embedding signal is optional; with it every signal is weighed at once (match_fusion).

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache, lru_cache
from typing import NamedTuple

from bot.model import SHANGHAI
from bot.text.lexicon import words
from bot.text.match_embed import Embedder
from bot.text.match_fusion import (
    CANDIDATES,
    MIN_SHOWN,
    POOL,
    SEM_REASON_COS,
    SEM_REASON_Z,
    SURE_COS,
    is_sure,
    load_penalty,
    nearness_weight,
    pool,
    skill_scores,
    zscores,
)
from bot.text.match_lexicon import Lexicon, Reading, default_lexicon
from bot.text.match_ngram import NgramIndex, grams, normalize, sublinear
from bot.text.match_region import Gazetteer, Region, default_gazetteer, relation, unplaced
from bot.text.match_taxonomy import Entry as TaxonomyEntry
from bot.text.match_taxonomy import Taxonomy, default_taxonomy
from bot.text.match_vectors import QUERY_CHARS, SemanticIndex, VectorCache
from bot.text.parse import parse

log = logging.getLogger(__name__)
TIE_WINDOW = 4  # the places after the first where a nearer expert of the same craft may be
TIE_SKILL = 0.6  # how far behind in skill a nearer expert of the same craft may be and lead
ITEM_CACHE = 50_000          # profile items kept read for the reasons (see Matcher._item)
# Only the head of a message is read (orders are short; a pasted novel must stay fast).
MAX_QUERY_CHARS = 600

# Profile fields and how much their words count.
FIELD_WEIGHTS = {"skills": 1.5, "tags": 1.0, "title": 0.3, "team": 0.6, "bio": 0.7, "spec": 0.5}
EXPANSION_WEIGHT = 0.8      # lexicon terms added to a plain-words request
# Blend of the skill signals into one fit score.
W_LEX, W_SPEC, W_HIST = 1.0, 0.45, 0.5
W_AVOID = 0.6               # fit lost to an order like one the expert gave back or lost
AVOID_FROM = 0.2            # from this similarity on
MIN_FIT = 0.12              # below this, no real skill fit: not returned
REL_FIT = 0.3               # and at least this share of the best fit
# Region multipliers (same county, city, province): a tie-breaker among similar fits.
REGION_BONUS = {3: 1.4, 2: 1.25, 1: 1.06, 0: 1.0}
LOAD_SHARE = 0.12           # score lost at a load just below capacity, pro rata
FULL_FACTOR = 0.55          # an expert at capacity drops below free near-equals
LEX_CAP = 0.5               # profile similarity above this share of the best counts as a tie
# In rosters above BIG experts, grams in more than MAX_DF of the documents and single
# characters are not scanned: they carry little weight and cost the most.
BIG = 300
MAX_DF = 0.05
# Rosters up to EAGER_EMBED experts are embedded when indexed; bigger ones lazily: the few
# best lexical candidates of a weakly matched order on demand (~0.1 s each), the rest
# through `warm`, which the caller runs in the background.
EAGER_EMBED = 200
LAZY_CANDIDATES = 5
SIBLING = 0.5               # a specialty of the same field, when nobody holds the one read
KEEP_SPEC = 0.5             # a weak lexical first with this specialty score stays shown


@dataclass(frozen=True)
class ExpertProfile:
    """One expert as the matcher sees them (built by the caller from the roster)."""

    id: str
    name: str
    skills: tuple[str, ...]
    tags: tuple[str, ...]
    title: str = ""
    team: str = ""
    region: str = ""
    bio: str = ""
    history: tuple[str, ...] = ()
    # What a reason may quote of each history item instead of its text ("" = the text;
    # a private need gives only its category): the text teaches, the reason stays private.
    history_shown: tuple[str, ...] = ()
    capacity: int = 3
    open_load: int = 0
    active: bool = True
    # Orders this expert gave back or an admin moved away from them (退单, 改派): similar
    # orders fit them less.
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """One ranked expert with the reasons shown to users."""

    id: str
    name: str
    score: float
    reasons: tuple[str, ...]
    sure: bool = True  # False: the best fit is weak (the bot hedges and asks the admins)


@dataclass(frozen=True)
class _Entry:
    profile: ExpertProfile
    region: Region
    specs: dict[str, float]
    items: tuple[str, ...]      # skills then tags, deduplicated, for reasons
    kinds: tuple[TaxonomyEntry, ...]  # what the items name (Taxonomy.for_skills; semantic only)


class _Item(NamedTuple):
    norm: str                   # normalized text
    grams: tuple[str, ...]      # its n-grams of two characters or more
    specs: frozenset[str]       # the specialties the lexicon reads in it


class _Lexical(NamedTuple):
    head: str
    reading: Reading
    query: dict[str, float]
    hist: dict[str, float]
    off: Collection[str]
    fits: dict[str, float]
    spec: dict[str, float]      # each candidate's specialty score from the lexicon's reading
    grams: dict[str, float]     # each candidate's plain profile n-gram similarity
    fired: list[str]            # the words that fired in the reading (for the reasons)
    strong: set[str]            # the specialties it reads strongly (for the reasons)


class Matcher:
    """An index over the roster; `rank` answers one order in well under 10 ms."""

    def __init__(self, experts: Sequence[ExpertProfile], lexicon: Lexicon | None = None,
                 gazetteer: Gazetteer | None = None, embedder: Embedder | None = None,
                 taxonomy: Taxonomy | None = None, vectors: VectorCache | None = None) -> None:
        """`embedder` adds the semantic signal (see match_embed.default_embedder); None keeps
        the ranking purely lexical. `taxonomy` widens profiles with the plain words of their
        specialties' problems (match_taxonomy.default_taxonomy when not given). `vectors`
        keeps profile vectors between runs (orders' vectors are never given to it)."""
        self._lex = lexicon or default_lexicon()
        self._tax = taxonomy if taxonomy is not None else default_taxonomy()
        self._gaz = gazetteer or default_gazetteer()
        self._entries: dict[str, _Entry] = {}
        self._profiles: NgramIndex[str] = NgramIndex()
        self._history: NgramIndex[tuple[str, int]] = NgramIndex()
        self._avoid: NgramIndex[tuple[str, int]] = NgramIndex()
        self._spec_post: dict[str, dict[str, float]] = {}
        self._kind_post: dict[str, set[str]] = {}  # taxonomy entry → the experts it names
        self._inactive: set[str] = set()
        self._items: dict[str, _Item] = {}  # profile items read for reasons, by their text
        self._spec_sets: dict[frozenset[str], frozenset[str]] = {}  # one of each, for them
        self._sem = SemanticIndex(embedder, vectors) if embedder is not None else None
        self.stats = {"ranked": 0, "semantic": 0}
        for e in experts:
            self._drop(e.id)
            entry = self._entry(e)
            self._store(entry)
            self._sem_put(entry)
        # Generators: each document's raw grams exist only while it is indexed.
        entries = self._entries
        self._profiles.add_many((eid, self._profile_grams(en)) for eid, en in entries.items())
        self._history.add_many(((eid, i), grams(self._lex.canon(h)))
                               for eid, en in entries.items()
                               for i, h in enumerate(en.profile.history))
        self._avoid.add_many(((eid, i), grams(self._lex.canon(h)))
                             for eid, en in entries.items()
                             for i, h in enumerate(en.profile.avoid))
        if self._sem is not None:
            self._tax.prepare()  # what `_fused` reads of each order's plain words
            if len(self._entries) <= EAGER_EMBED:
                self._sem.embed_pending()
            else:  # a big roster: what earlier runs kept now, the rest as orders need them
                self._sem.adopt_stored()

    def __len__(self) -> int:
        return len(self._entries)

    # ── roster changes ──
    def set_load(self, expert_id: str, open_load: int) -> None:
        """Change one expert's open load: it only weighs the score, the index stays."""
        entry = self._entries.get(expert_id)
        if entry is not None:
            self._entries[expert_id] = replace(
                entry, profile=replace(entry.profile, open_load=open_load))

    def update(self, expert: ExpertProfile) -> None:
        """Add or replace one expert without rebuilding the index."""
        self._remove(expert.id, keep_vectors=True)
        entry = self._entry(expert)
        self._store(entry)
        self._sem_put(entry)
        if self._sem is not None and len(self._entries) <= EAGER_EMBED:
            self._sem.embed_pending((expert.id,))
        self._profiles.add(expert.id, self._profile_grams(entry))
        for i, h in enumerate(expert.history):
            self._history.add((expert.id, i), grams(self._lex.canon(h)))
        for i, h in enumerate(expert.avoid):
            self._avoid.add((expert.id, i), grams(self._lex.canon(h)))

    def remove(self, expert_id: str) -> None:
        """Drop one expert (no-op if unknown)."""
        self._remove(expert_id)

    def _remove(self, expert_id: str, keep_vectors: bool = False) -> None:
        entry = self._drop(expert_id)
        if entry is None:
            return
        self._profiles.remove(expert_id)
        if self._sem is not None and not keep_vectors:
            self._sem.remove(expert_id)
        for i in range(len(entry.profile.history)):
            self._history.remove((expert_id, i))
        for i in range(len(entry.profile.avoid)):
            self._avoid.remove((expert_id, i))

    def _drop(self, expert_id: str) -> _Entry | None:
        entry = self._entries.pop(expert_id, None)
        self._inactive.discard(expert_id)
        if entry is not None:
            for s in entry.specs:
                post = self._spec_post.get(s)
                if post is not None:
                    post.pop(expert_id, None)
            for k in entry.kinds:
                self._kind_post.get(k.name, set()).discard(expert_id)
        return entry

    def _entry(self, e: ExpertProfile) -> _Entry:
        items = tuple(dict.fromkeys(s.strip() for s in (*e.skills, *e.tags) if s.strip()))
        weak = "；".join((e.title, e.team, e.bio))
        kinds = self._tax.for_skills(items) if self._sem is not None else ()
        return _Entry(e, self._gaz.parse(e.region), self._lex.profile_specs(items, weak), items,
                      kinds)

    def _store(self, entry: _Entry) -> None:
        self._entries[entry.profile.id] = entry
        if not entry.profile.active:
            self._inactive.add(entry.profile.id)
        for s, w in entry.specs.items():
            self._spec_post.setdefault(s, {})[entry.profile.id] = w
        for k in entry.kinds:
            self._kind_post.setdefault(k.name, set()).add(entry.profile.id)

    def _sem_put(self, entry: _Entry) -> None:
        if self._sem is None:
            return
        p = entry.profile
        # What the expert does, not where: their own place sways the embedding otherwise.
        items = tuple(dict.fromkeys(x for x in unplaced(
            (s.strip() for s in p.skills), (t.strip() for t in p.tags), entry.region) if x))
        whole = "；".join(x for x in (*items, p.title, p.team, p.bio[:200]) if x)
        extra = [(f"{e.name}（常见问题）", e.passage) for e in entry.kinds]
        self._sem.put(p.id, whole, items, extra)

    def vector_keys(self) -> set[bytes]:
        """The keys of every profile text the semantic index embeds (empty without one): what
        a store of vectors should keep for this roster."""
        return self._sem.keys() if self._sem is not None else set()

    def warm(self, limit: int | None = None) -> int:
        """Embed profiles not embedded yet (at most `limit`); returns how many. Big rosters
        call this off the event loop after start-up; a no-op without an embedder."""
        return self._sem.embed_pending(limit=limit) if self._sem is not None else 0

    def _profile_grams(self, entry: _Entry) -> dict[str, float]:
        e = entry.profile
        c = self._lex.canon
        acc = grams(c(" ".join(e.skills)), FIELD_WEIGHTS["skills"])
        grams(c(" ".join(e.tags)), FIELD_WEIGHTS["tags"], acc)
        grams(c(e.title), FIELD_WEIGHTS["title"], acc)
        grams(c(e.team), FIELD_WEIGHTS["team"], acc)
        grams(c(e.bio), FIELD_WEIGHTS["bio"], acc)
        grams(" ".join(entry.specs), FIELD_WEIGHTS["spec"], acc)
        return acc

    # ── ranking ──
    def _lexical(self, text: str, exclude: Collection[str]) -> _Lexical | None:
        """The lexical part of ranking: each candidate's fit before the embedding."""
        head = text[:MAX_QUERY_CHARS]
        reading = self._lex.read(head)
        query = self._query(head, reading)
        if not query:
            return None
        big = len(self._entries) > BIG
        lex = self._profiles.search(query, *((MAX_DF, 2) if big else (1.0, 1)))
        # Past orders are compared with the order as written (no lexicon expansion).
        hist = self._history_scores(self._query(head, None), big) if len(self._history) else {}
        spec = self._spec_scores(reading)
        off = self._inactive.union(exclude) if exclude else self._inactive
        top_lex = max((v for eid, v in lex.items() if eid not in off), default=0.0) \
            if off else max(lex.values(), default=0.0)
        cap = LEX_CAP * top_lex
        fits = {eid: W_LEX * (v if v < cap else cap) for eid, v in lex.items()}
        for part, weight in ((spec, W_SPEC), (hist, W_HIST)):
            for eid, v in part.items():
                fits[eid] = fits.get(eid, 0.0) + weight * v
        if len(self._avoid):  # orders like ones given back or moved away count against
            for eid, v in self._similar(self._avoid, self._query(head, None), big).items():
                if v >= AVOID_FROM and eid in fits:
                    fits[eid] = max(0.0, fits[eid] - W_AVOID * v)
        for eid in off.intersection(fits):
            del fits[eid]
        fired = [w for w in {w for ws in reading.cues.values() for w in ws}
                 | set(reading.expansion) if len(w) >= 2]
        strong = {s for s, v in reading.specs.items() if v >= 0.5}
        return _Lexical(head, reading, query, hist, off, fits, spec, lex, fired, strong)

    @property
    def semantic(self) -> bool:
        """Whether ranking uses the embedding (an embedder, and profiles to compare with)."""
        return self._sem is not None and (self._sem.ready >= 2 or self._sem.pending > 0)

    def _weigh(self, eid: str, where: Region) -> tuple[float, int]:
        """How region and load scale an expert's fit, and how near the expert is (0–3)."""
        entry = self._entries[eid]
        rel = relation(where, entry.region)
        return REGION_BONUS[rel] * _load_factor(entry.profile), rel

    def warm_for(self, text: str, exclude: Collection[str] = ()) -> int:
        """Embed the profiles a big roster has not embedded yet that are likeliest for this
        order (in a worker thread, before `rank` runs on the loop); returns how many."""
        if self._sem is None or not self._sem.pending or not isinstance(text, str):
            return 0
        lexical = self._lexical(text, exclude)
        if lexical is None:
            return 0
        likely = sorted(lexical.fits, key=lambda e: -lexical.fits[e])[:LAZY_CANDIDATES]
        return self._sem.embed_pending(likely)

    def rank(self, text: str, region: str | None = None, top: int = 3,
             exclude: Collection[str] = (), embed: bool = True) -> list[Match]:
        """The best active experts for an order, best first; empty when nothing fits.
        With `embed` false, profiles not embedded yet are not embedded now (the bot's loop:
        `warm` did it in a thread) and count as the roster's mean similarity."""
        if top <= 0 or not self._entries or not isinstance(text, str):
            return []
        lexical = self._lexical(text, exclude)
        if lexical is None:
            return []
        where = self._request_region(lexical.head, region)
        self.stats["ranked"] += 1
        if self.semantic:
            fused = self._fused(lexical, where, top, embed)
            if fused is not None:
                return fused
        fits = lexical.fits
        best = max(fits.values(), default=0.0)
        if best < MIN_FIT:
            return []
        floor = max(MIN_FIT, REL_FIT * best)
        ordered = sorted(((f, eid) for eid, f in fits.items() if f >= floor), reverse=True)
        lift = max(REGION_BONUS.values())
        scored: list[tuple[float, str, int]] = []
        kth = 0.0
        for fit, eid in ordered:
            if len(scored) >= top and fit * lift < kth:
                break  # no later candidate can enter the top
            m, rel = self._weigh(eid, where)
            scored.append((fit * m, eid, rel))
            if len(scored) >= top:
                kth = sorted((s[0] for s in scored), reverse=True)[top - 1]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [Match(eid, self._entries[eid].profile.name, round(score, 4),
                      self._reasons_of(eid, lexical, where, rel))
                for score, eid, rel in scored[:top]]

    def _fused(self, lexical: _Lexical, where: Region, top: int,
               embed: bool) -> list[Match] | None:
        """Rank by every signal at once, each standardised over the roster (match_fusion);
        None when the model fails (the words rank this order alone)."""
        assert self._sem is not None
        self.stats["semantic"] += 1
        fits, off = lexical.fits, lexical.off
        ids = [eid for eid in self._entries if eid not in off]
        if not ids:
            return []
        problem = embedding_text(lexical.head)
        try:
            if embed and self._sem.pending:  # a big roster still warming: the likeliest ones
                likely = sorted(fits, key=lambda e: -fits[e])[:LAZY_CANDIDATES]
                self._sem.embed_pending(likely)
            sims, qv = self._sem.similarities(problem)
        except Exception:  # a native model failing must never take routing down
            log.warning("the embedding failed: this order is ranked by its words alone",
                        exc_info=True)
            return None
        known = [sims[e] for e in ids if e in sims]
        mean = sum(known) / len(known) if known else 0.0
        sem = [sims.get(e, mean) for e in ids]
        fit = [fits.get(e, 0.0) for e in ids]
        gram = [lexical.grams.get(e, 0.0) for e in ids]
        pooled = len(ids) > POOL
        if pooled:  # a big roster: standardised over the nearest (match_fusion)
            keep = pool(sem, fit, gram, POOL)
            ids = [ids[i] for i in keep]
            sem, fit, gram = [sem[i] for i in keep], [fit[i] for i in keep], [gram[i] for i in keep]
        # The taxonomy entry whose plain words the order shares counts for its experts.
        told = self._tax.closest(problem)
        kind = self._kind_scores(told, ids) if told else []
        skill = skill_scores(fit, sem, gram, kind)
        sem_z = zscores(sem)
        best = max(skill)
        if best <= 0.0:
            return []  # no signal sets anyone apart: nobody to suggest
        ranked = sorted(range(len(ids)), key=lambda i: -skill[i])[:max(CANDIDATES, top)]
        per_level = nearness_weight(best, pooled)
        scored: list[tuple[float, int, int]] = []
        for i in ranked:
            entry = self._entries[ids[i]]
            rel = relation(where, entry.region)
            p = entry.profile
            scored.append((skill[i] + per_level * rel - load_penalty(p.open_load, p.capacity),
                           i, rel))
        scored.sort(key=lambda s: (-s[0], ids[s[1]]))
        scored = self._local_first(scored, ids, per_level, lexical)
        first = scored[0][1]
        sure = is_sure(best, sem[first], fits.get(ids[first], 0.0), len(ids), pooled)
        out: list[Match] = []
        for score, i, rel in scored[:top]:
            if out and skill[i] < MIN_SHOWN:
                break  # the next ones hardly fit: fewer names, not wrong ones
            eid = ids[i]
            # A semantic reason only where the embedding is clearly close; else the words.
            close = sem_z[i] >= SEM_REASON_Z and sem[i] >= SURE_COS
            near = self._sem.closest_item(eid, qv, SEM_REASON_COS) if close else ""
            out.append(Match(eid, self._entries[eid].profile.name, round(score, 4),
                             self._reasons_of(eid, lexical, where, rel, near), sure))
        return out

    def _kind_scores(self, told: dict[str, float], ids: list[str]) -> list[float]:
        """Each expert's best share in the taxonomy entries the order tells (0.0 for none),
        read from the few entries' holders, not from every expert's entries (1.7 -> 0.1 ms
        an order on 1,000 experts)."""
        best: dict[str, float] = {}
        for name, v in told.items():
            for eid in self._kind_post.get(name, ()):
                if v > best.get(eid, 0.0):
                    best[eid] = v
        return [best.get(e, 0.0) for e in ids]

    def _local_first(self, scored: list[tuple[float, int, int]], ids: list[str],
                     per_level: float, lexical: _Lexical) -> list[tuple[float, int, int]]:
        """Skills tie when the first expert and a nearer one both hold the specialty the order
        reads strongest, and their scores without nearness (skill and load) are close: the
        nearer one goes first."""
        specs = lexical.reading.specs
        if not specs or len(scored) < 2:
            return scored
        top = max(specs, key=lambda k: specs[k])
        holders = self._spec_post.get(top, {})
        lead_score, lead, lead_rel = scored[0]
        if specs[top] < 1.0 or holders.get(ids[lead], 0.0) < 1.0:
            return scored
        own = lead_score - per_level * lead_rel  # the lead's score without its nearness
        for k, (score, i, rel) in enumerate(scored[1:TIE_WINDOW], start=1):
            if (rel > lead_rel and holders.get(ids[i], 0.0) >= 1.0
                    and own - (score - per_level * rel) <= TIE_SKILL):
                return [scored[k], *scored[:k], *scored[k + 1:]]
        return scored

    def _reasons_of(self, eid: str, lexical: _Lexical, where: Region, rel: int,
                    near: str = "") -> tuple[str, ...]:
        return self._reasons(self._entries[eid], lexical, lexical.hist.get(eid, 0.0), where,
                             rel, near)

    def _query(self, text: str, reading: Reading | None) -> dict[str, float]:
        body = self._lex.strip_noise(self._lex.canon(text))
        acc = grams(body)
        if reading is not None and reading.expansion:
            grams(self._lex.canon(" ".join(reading.expansion)), EXPANSION_WEIGHT, acc)
        return sublinear(acc)

    def _spec_scores(self, reading: Reading) -> dict[str, float]:
        total = sum(reading.specs.values())
        if total <= 0.0:
            return {}
        out: dict[str, float] = {}
        for s, qw in reading.specs.items():
            post = self._spec_post.get(s)
            if post:
                for eid, ew in post.items():
                    out[eid] = out.get(eid, 0.0) + qw * ew
                continue
            # Nobody on the roster holds it: those of the same field count for less
            # (消防 → 安全生产), rather than whoever shares a stray word with the request.
            for sibling in self._lex.siblings(s):
                for eid, ew in self._spec_post.get(sibling, {}).items():
                    out[eid] = out.get(eid, 0.0) + SIBLING * qw * ew
        # Weak evidence (cues only) must not reach a full score.
        strength = min(1.0, max(reading.specs.values()))
        return {eid: strength * v / total for eid, v in out.items()}

    def _history_scores(self, query: dict[str, float], big: bool) -> dict[str, float]:
        return self._similar(self._history, query, big) if len(self._history) else {}

    @staticmethod
    def _similar(index: NgramIndex[tuple[str, int]], query: dict[str, float],
                 big: bool) -> dict[str, float]:
        """Each expert's best similarity among their indexed orders."""
        out: dict[str, float] = {}
        found = index.search(query, *((MAX_DF, 2) if big else (1.0, 1)), known_only=True)
        for (eid, _i), sim in found.items():
            if sim > out.get(eid, 0.0):
                out[eid] = sim
        return out

    def _request_region(self, text: str, region: str | None) -> Region:
        given = self._gaz.parse(region) if region else Region()
        named = self._gaz.find(text)
        if not given:
            return named
        if named and relation(given, named) >= 1 and (
                (named.county and not given.county) or (named.city and not given.city)):
            return named
        return given

    # ── reasons ──
    def _reasons(self, entry: _Entry, lexical: _Lexical, hist: float, where: Region, rel: int,
                 near: str = "") -> tuple[str, ...]:
        query, reading = lexical.query, lexical.reading
        out: list[str] = []
        if near:
            out.append("语义相近：" + near)
        skills = self._matched_items(entry, lexical)
        if skills:
            out.append("专长：" + "、".join(skills))
        else:
            shared = [s for s in reading.specs if s in entry.specs]
            if shared:
                shared.sort(key=lambda s: -reading.specs[s])
                out.append("擅长领域：" + "、".join(shared[:2]))
        history = entry.profile.history
        if hist >= 0.2 and history:
            best = max(range(len(history)),
                       key=lambda i: _overlap(self._history_doc_grams(history[i]), query))
            shown = entry.profile.history_shown
            quote = shown[best] if best < len(shown) else ""
            out.append("曾办结类似点单：" + (quote or _clip(history[best], 18)))
        if not out:
            out.append("专长：" + "、".join(entry.items[:2]) if entry.items else "资料相符")
        if rel:
            out.append("同在" + [where.province, where.city, where.county][rel - 1])
        p = entry.profile
        cap = max(p.capacity, 0)
        load = f"当前负载 {p.open_load}/{cap}"
        out.append(load + "（已满）" if p.open_load >= cap else load)
        return tuple(out)

    @staticmethod
    def _history_doc_grams(text: str) -> dict[str, float]:
        return grams(text)

    def _item(self, item: str) -> _Item:
        """A profile item as the reasons read it (cached: rosters repeat the same items)."""
        got = self._items.get(item)
        if got is None:
            if len(self._items) >= ITEM_CACHE:
                self._items.clear()
                self._spec_sets.clear()
            # Shared strings and sets wherever equal ones are kept already (the item itself,
            # the profile index's grams, another item's specialties): 1,000 experts' items
            # took 3.5 MiB, now 1.2.
            norm = normalize(item)
            shared = self._profiles.shared
            specs = frozenset(self._lex.profile_specs((item,)))
            got = self._items[item] = _Item(
                item if norm == item else norm,
                tuple(shared(g) for g in grams(item) if len(g) >= 2),
                self._spec_sets.setdefault(specs, specs))
        return got

    def _matched_items(self, entry: _Entry, lexical: _Lexical) -> list[str]:
        query, fired, strong_specs = lexical.query, lexical.fired, lexical.strong
        scored: list[tuple[float, int, str]] = []
        idf = self._profiles.idf
        for i, item in enumerate(entry.items):
            it = self._item(item)
            score = 0.0
            for g in it.grams:
                if g in query:
                    score += idf(g)
            norm = it.norm
            for w in fired:  # a plain loop: reasons are read for every order's three
                if w in norm or norm in w:
                    score += 3.0
                    break
            else:
                if strong_specs and not it.specs.isdisjoint(strong_specs):
                    score += 1.5
            if score > 0.0:
                scored.append((score, -i, item))
        scored.sort(reverse=True)
        return [item for _, _, item in scored[:2]]


@lru_cache(maxsize=512)
def embedding_text(text: str) -> str:
    """What the embedding reads of an order: the problem alone, as the parser tells it,
    without the opening, enterprise, contact, phone and deadline (about half the tokens of a
    whole order, so half the model's time, and none of its noise), and without how it asks
    (`_frame`). Cached: an order is read once before the writer lock (to embed it) and once
    under it (to rank)."""
    head = text[:MAX_QUERY_CHARS]
    problem = parse(head, datetime.now(SHANGHAI)).problem or head
    return (_frame().sub("", problem).strip(" ，,。") or problem)[:QUERY_CHARS]


@cache
def _frame() -> re.Pattern[str]:
    """How an order asks (想请…师傅指导, 有没有懂行的): no token of the embedding's time."""
    said = sorted(words("embedding", "frame"), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, said)))


def _load_factor(p: ExpertProfile) -> float:
    cap = max(p.capacity, 0)
    if p.open_load >= cap:
        return FULL_FACTOR
    return 1.0 - LOAD_SHARE * max(p.open_load, 0) / cap


def _overlap(doc: dict[str, float], query: dict[str, float]) -> int:
    return sum(1 for g in doc if len(g) >= 2 and g in query)


def _clip(text: str, n: int) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[:n] + "…"


def profiles_from_rows(rows: Iterable[dict[str, str]]) -> list[ExpertProfile]:
    """Profiles from roster rows keyed by the Contracts' Chinese headers (tests, benches)."""
    out = []
    for r in rows:
        out.append(ExpertProfile(
            id=r.get("编号", "").strip(), name=r.get("姓名", "").strip(),
            skills=split_list(r.get("专长", "")), tags=split_list(r.get("标签", "")),
            title=r.get("称号", "").strip(), team=r.get("服务队", "").strip(),
            region=r.get("地区", "").strip(),
        ))
    return out


def split_list(value: str | None) -> tuple[str, ...]:
    """Split a roster cell on ; ； 、 , ，."""
    if not value:
        return ()
    for sep in ("；", "、", "，", ","):
        value = value.replace(sep, ";")
    return tuple(p.strip() for p in value.split(";") if p.strip())
