"""Time the word diff behind quote drift (kb.text.diff) against difflib, and quote matching.

usage: python bench/bench_diff.py [WORDS ...] [--difflib]

For each size, an origin of WORDS words drawn from a small vocabulary (so that every word
repeats: difflib's worst case) and a quote with one word in a hundred changed, dropped or
added. Prints the CPU seconds of kb.text.quotes.drift (n log n) and, with --difflib, of
difflib.SequenceMatcher on the same words (quadratic: 20,000 words took 8 s, 40,000 about 50 s
when issue 20 was filed). Then the time to fold a 4.9 MB one-line snapshot and find a quote in it.
"""

from __future__ import annotations

import argparse
import difflib
import random
import time

from kb.text.quotes import drift, fold, locate


def texts(n: int, seed: int = 20) -> tuple[str, str]:
    """An origin of `n` words and a quote that differs from it in about 1% of them."""
    rng = random.Random(seed)
    vocab = [f"word{k}" for k in range(300)]
    a = [rng.choice(vocab) for _ in range(n)]
    b: list[str] = []
    for w in a:
        roll = rng.random()
        if roll < 0.004:
            continue  # dropped
        b.append("changed" if roll < 0.008 else w)
        if roll > 0.996:
            b.append("added")
    return " ".join(a), " ".join(b)


def cpu(fn: object, *args: object) -> float:
    """CPU seconds of one call."""
    t0 = time.process_time()
    fn(*args)  # type: ignore[operator]
    return time.process_time() - t0


def main() -> None:
    """Run the timings and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="*", type=int, default=[20_000, 40_000, 400_000])
    parser.add_argument("--difflib", action="store_true", help="time difflib too (slow)")
    args = parser.parse_args()
    for n in args.words:
        origin, quote = texts(n)
        line = f"{n:>8} words: drift {cpu(drift, origin, quote):7.3f} s"
        if args.difflib:
            a, b = origin.split(), quote.split()
            sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
            line += f"   difflib {cpu(sm.get_opcodes):8.3f} s"
        d = drift(origin, quote)
        line += f"   ({len(d.dropped)} dropped, {len(d.added)} added, {len(d.changed)} changed)"
        print(line, flush=True)
    snapshot = ("The drug is regu-\nlated by the FDA. " * 300_000)[:4_900_000]
    t = cpu(fold, snapshot)
    fold.cache_clear()
    t_find = cpu(locate, "regulated by the FDA … the drug is regulated", snapshot)
    print(
        f"fold a 4.9 MB snapshot: {t:.3f} s; fold and find a quote with an ellipsis: {t_find:.3f} s"
    )


if __name__ == "__main__":
    main()
