"""Generate a deterministic synthetic knowledge base for benchmarks.

usage: python bench/generate.py N OUT

N claims, N/5 sources (each with a snapshot of about 3 KB that contains its quotes), N/10
experts; each claim has 2 quotes, 2 evidence items and 2 related claims; 9 claims in 10 are
reviewed. The result passes `kb check` apart from warnings. Same N, same bytes.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

WORDS = (
    "ketamine receptor glutamate synapse cortex neuron dose trial placebo response remission "
    "relapse infusion anxiety depression mood cognition plasticity signal pathway effect "
    "patient clinic study sample rapid lasting measure outcome cohort marker scale week day "
    "hour treatment therapy risk benefit evidence model rodent human adult dosage review "
).split()
FAMILIES = (
    "Li Wang Zhang Smith Garcia Nguyen Kim Patel Müller Rossi Silva Cohen Duman Krystal "
    "Sanacora Zarate Berman Murrough Wilkinson Kishimoto Moghaddam Anis Lodge Maeng Zanos "
    "Gould Ballard Mathew Feder Bloch Singh Carlson Brutsche Ameli Luckenbaugh Iwata Banasr "
    "Dwyer Aghajanian Lee Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma "
).split()
GIVEN = ("Anna Ben Chen Dana Eli Fatima Gita Hugo Ines Jun Kai Lena Mira Noah Omar Pia ").split()
TYPES = (
    ("article-journal", "rct"),
    ("article-journal", "meta-analysis"),
    ("article-journal", "preclinical"),
    ("article-journal", "observational"),
    ("report", "regulatory"),
    ("webpage", "news"),
    ("post-weblog", "blog"),
    ("book", "review"),
)
RELATIONS = ("leads-to", "refines", "supports", "part-of")
VERDICTS = ("accurate", "mostly-accurate", "needs-context", "misleading", "inaccurate",
            "unsupported")  # fmt: skip


def sentence(rng: random.Random, tag: str) -> str:
    """A unique sentence of about 120 characters."""
    words = [rng.choice(WORDS) for _ in range(14)]
    words.insert(rng.randrange(1, 14), tag)
    return " ".join(words).capitalize() + "."


def q(text: str) -> str:
    """Quote a YAML string (JSON strings are YAML strings)."""
    return json.dumps(text, ensure_ascii=False)


def generate(n: int, out: Path) -> None:
    """Write the knowledge base of `n` claims into `out` (which must not exist or be empty)."""
    rng = random.Random(n)
    n_sources, n_experts = max(2, n // 5), max(2, n // 10)
    for kind in ("claims", "experts", "sources"):
        (out / kind).mkdir(parents=True, exist_ok=True)
    (out / "kb.yaml").write_text(
        f"title: Synthetic knowledge base of {n} claims\n"
        "styles: [apa]  # the benchmark's target: an APA reference for every source\n"
    )
    # Sources: 25 sentences each (about 3 KB); sentence k of source s carries tag s{s}k{k}.
    snapshots: list[list[str]] = []
    for s in range(n_sources):
        sid = f"s{s:06d}"
        ctype, level = TYPES[s % len(TYPES)]
        sents = [sentence(rng, f"s{s}k{k}") for k in range(25)]
        snapshots.append(sents)
        (out / "sources" / f"{sid}.txt").write_text(
            "\n\n".join(" ".join(sents[i : i + 5]) for i in range(0, 25, 5)) + "\n"
        )
        authors = ", ".join(
            f"{{family: {rng.choice(FAMILIES)}, given: {rng.choice(GIVEN)}}}"
            for _ in range(1 + s % 4)
        )
        lines = [
            f"type: {ctype}",
            f"title: {q(sentence(rng, f't{s}')[:-1])}",
            f"author: [{authors}]",
            f"issued: {1990 + s % 36}-{1 + s % 12:02d}",
            f"evidence_level: {level}",
        ]
        if ctype == "article-journal":
            lines += [
                f"container-title: Journal of {rng.choice(WORDS).capitalize()} Research",
                f'volume: "{1 + s % 90}"',
                f"page: {1 + s % 400}-{10 + s % 400}",
                f"DOI: 10.5555/kb.{s}",
            ]
        elif ctype in ("webpage", "post-weblog"):
            lines.append(f"URL: https://example.org/{sid}")
        elif ctype in ("book", "report"):
            lines.append(f"publisher: {rng.choice(FAMILIES)} Press")
        (out / "sources" / f"{sid}.yaml").write_text("\n".join(lines) + "\n")
    (out / "experts" / "editorial-team.yaml").write_text("name: Synthetic editorial team\n")
    for e in range(n_experts):
        (out / "experts" / f"e{e:06d}.yaml").write_text(
            f"name: {rng.choice(GIVEN)} {rng.choice(FAMILIES)}\ncredentials: MD\n"
            f"roles:\n  - title: Professor\n    organization: University {e % 50}\n"
            f"    source: s{e % n_sources:06d}\n"
        )
    topics = [f"topic {t}" for t in range(max(1, n // 100))]
    for c in range(n):
        cid = f"c{c:06d}"
        lines = [
            f"statement: {q(sentence(rng, f'c{c}'))}",
            f"topics: [{q(rng.choice(topics))}, {q(rng.choice(topics))}]",
            "quotes:",
        ]
        for k in range(2):
            s = (c * 2 + k) % n_sources
            sent = snapshots[s][(c * 2 + k) // n_sources % 25]
            lines += [
                f"  - text: {q(sent)}",
                f"    source: s{s:06d}",
                f"    speaker: e{(c + k) % n_experts:06d}",
                "    attribution: as quoted",
                "    origin: unknown"
                if k and c % 5 == 0
                else f"    origin: {{source: s{s:06d}, text: {q(sent)}}}",
            ]
        lines.append("evidence:")
        quoted = {(c * 2) % n_sources, (c * 2 + 1) % n_sources}
        for k in range(2):
            ev = rng.randrange(n_sources)
            while ev in quoted and n_sources > 2:
                ev = rng.randrange(n_sources)
            lines += [
                f"  - source: s{ev:06d}",
                f"    stance: {('supports', 'qualifies', 'context')[k + c % 2]}",
                f"    directness: {('direct', 'indirect')[k]}",
            ]
        lines.append("related:")
        for k in range(2):
            other = (c + 1 + rng.randrange(n - 1)) % n if n > 1 else c
            relation = RELATIONS[(c + k) % len(RELATIONS)]
            if relation == "supports" and other <= c:
                relation = "refines"  # keep `supports` acyclic: always to a later claim
            lines += [f"  - claim: c{other:06d}", f"    relation: {relation}"]
        if c % 10:
            lines += [
                "review:",
                f"  verdict: {VERDICTS[c % len(VERDICTS)]}",
                "  reviewer: editorial-team",
                f"  date: 2026-{1 + c % 12:02d}-{1 + c % 28:02d}",
                f"  rationale: {q('Synthetic rationale for ' + cid)}",
            ]
        (out / "claims" / f"{cid}.yaml").write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    """Run from the command line."""
    if len(argv) != 2 or not argv[0].isdigit() or int(argv[0]) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    if out.exists() and any(out.iterdir()):
        print(f"{out} is not empty: refusing to write into it", file=sys.stderr)
        return 2
    generate(int(argv[0]), out)
    print(f"wrote {argv[0]} claims into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
